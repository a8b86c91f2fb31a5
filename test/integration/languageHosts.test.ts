import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { collector, outputValues, pulumiCommand, REPO, testBackend, TestBackend } from "../helpers/pulumi";
import { tempDir } from "../helpers/tree";

/** The Go SDK build and the language host's own build share this environment, so the host's build hits the cache. */
const GO_ENV = { GOTOOLCHAIN: "local", CGO_ENABLED: "0" };

function hasGo(): boolean {
    try {
        execFileSync("go", ["version"], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

/**
 * `up` then `destroy` of a copy of a fixture program through the toolchain's
 * engine; returns what each printed and the outputs. The host binaries sit
 * beside `pulumi`, so the engine prints no "using … from $PATH" warning.
 */
async function upAndDestroy(backend: TestBackend, workDir: string, env: Record<string, string> = {}) {
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: `t${crypto.randomBytes(4).toString("hex")}`, workDir },
        { pulumiCommand: await pulumiCommand(), pulumiHome: backend.pulumiHome, envVars: { ...backend.env, ...env } },
    );
    try {
        const upLog = collector();
        const up = await stack.up({ onOutput: upLog.onOutput });
        const destroyLog = collector();
        const destroy = await stack.destroy({ onOutput: destroyLog.onOutput });
        const left = (await stack.exportStack()).deployment.resources ?? [];
        return { up, destroy, upText: upLog.text(), destroyText: destroyLog.text(), left };
    } finally {
        await stack.workspace.removeStack(stack.name, { force: true }).catch(() => undefined);
    }
}

function copyFixture(name: string, work: string): string {
    const dir = path.join(work, name);
    fs.cpSync(path.join(REPO, "test", "fixtures", name), dir, { recursive: true });
    return dir;
}

/** Lines of the engine's output that warn, e.g. "warning: using pulumi-language-yaml from $PATH at …". */
function warnings(text: string): string[] {
    return text.split("\n").filter((l) => /warning/i.test(l));
}

describe("language hosts beside the engine (scripts/toolchain.sh)", function () {
    let backend: TestBackend;
    let work: string;
    before(() => {
        backend = testBackend();
        work = tempDir("pd-langhosts-");
    });
    after(() => {
        backend.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("runs a YAML program (pulumi-yaml v1.25.0): up exports its output, destroy empties the stack, no warning", async () => {
        const r = await upAndDestroy(backend, copyFixture("langhost-yaml", work));
        assert.deepStrictEqual(outputValues(r.up.outputs), { greeting: "hello from yaml" });
        assert.deepStrictEqual(r.up.summary.resourceChanges, { create: 1 });
        assert.deepStrictEqual(r.destroy.summary.resourceChanges, { delete: 1 });
        assert.deepStrictEqual(r.left, []);
        assert.deepStrictEqual(warnings(r.upText + r.destroyText), []);
    });

    describe("a Go program (Pulumi Go SDK v3.259.0, host from sdk/v3 v3.64.0)", function () {
        let program: string;
        before(function () {
            if (!hasGo()) this.skip(); // No Go: the toolchain came from PATH and no Go program can run here.
            program = copyFixture("langhost-go", work);
            // The language host compiles the program on each `up`; building it once here (about 2 minutes
            // the first time on 2 cores, for the SDK's modules) leaves the host a cache hit, with the
            // modules in GOMODCACHE and the packages in GOCACHE.
            execFileSync("go", ["build", "-o", path.join(work, "langhost-go.bin"), "."], { cwd: program, env: { ...process.env, ...GO_ENV }, stdio: "inherit" });
        });

        it("runs it: up exports its output, destroy empties the stack, no warning", async () => {
            const r = await upAndDestroy(backend, program, GO_ENV);
            assert.deepStrictEqual(outputValues(r.up.outputs), { greeting: "hello from go" });
            assert.deepStrictEqual(r.up.summary.resourceChanges, { create: 1 });
            assert.deepStrictEqual(r.destroy.summary.resourceChanges, { delete: 1 });
            assert.deepStrictEqual(r.left, []);
            assert.deepStrictEqual(warnings(r.upText + r.destroyText), []);
        });
    });
});
