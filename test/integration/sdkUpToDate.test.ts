import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PLUGIN_VERSION, REPO } from "../helpers/pulumi";
import { tempDir } from "../helpers/tree";

function hasGo(): boolean {
    return spawnSync("go", ["version"], { stdio: "ignore" }).status === 0;
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
    const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The repository's generation inputs and its committed SDKs, copied so a test can break the copy. */
function copyOfGeneration(into: string): string {
    for (const p of ["package.json", "provider", "scripts", "sdk/go.mod", "sdk/go.sum", "sdk/go", "sdk/python", "sdk/dotnet"]) {
        fs.cpSync(path.join(REPO, p), path.join(into, p), { recursive: true, filter: (src) => !src.includes("__pycache__") });
    }
    return into;
}

/** The SDKs generated from provider/schema.json and committed under sdk/ (scripts/gen-sdk.sh). */
describe("generated SDKs (scripts/gen-sdk.sh)", function () {
    before(function () {
        if (!hasGo()) this.skip(); // The generators are Go programs.
    });

    it("are what scripts/gen-sdk.sh generates from provider/schema.json", () => {
        const r = run("bash", ["scripts/gen-sdk.sh", "--check"], REPO);
        assert.strictEqual(r.status, 0, r.stderr);
        const upToDate = `gen-sdk: sdk/{go.mod,go.sum,go/delta,python,dotnet} are up to date with provider/schema.json (version ${PLUGIN_VERSION})`;
        assert.ok(r.stderr.split("\n").includes(upToDate), `stderr has the line ${JSON.stringify(upToDate)}: ${r.stderr}`);
    });

    it("--check names each stale file and says what to run", () => {
        const work = tempDir("pd-gen-sdk-");
        try {
            const copy = copyOfGeneration(work);
            fs.appendFileSync(path.join(copy, "sdk/python/pulumi_delta/sql_delta.py"), "# edited by hand\n");
            fs.writeFileSync(path.join(copy, "sdk/go/delta/extra.go"), "package delta\n");
            fs.rmSync(path.join(copy, "sdk/dotnet/Enums.cs"));
            const r = run("bash", ["scripts/gen-sdk.sh", "--check"], copy);
            assert.strictEqual(r.status, 1, r.stderr);
            // Only the verdict: a cold cache adds lines about building the generators and downloading modules.
            assert.deepStrictEqual(r.stderr.split("\n").filter((l) => /^(gen-sdk: (the|run) | {2}sdk\/)/.test(l)), [
                `gen-sdk: the committed SDKs are out of date with provider/schema.json (version ${PLUGIN_VERSION}):`,
                "  sdk/go/delta/extra.go (not generated)",
                "  sdk/python/pulumi_delta/sql_delta.py (differs)",
                "  sdk/dotnet/Enums.cs (missing)",
                "gen-sdk: run scripts/gen-sdk.sh and commit the result",
            ]);
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });

    it("the Python SDK byte-compiles", () => {
        const cache = tempDir("pd-pycache-");
        try {
            // Byte code goes to a temporary prefix, not into sdk/python.
            const r = run("python3", ["-m", "compileall", "-q", "sdk/python"], REPO, { PYTHONPYCACHEPREFIX: cache });
            assert.strictEqual(r.status, 0, r.stdout + r.stderr);
            assert.strictEqual(r.stdout, "");
        } finally {
            fs.rmSync(cache, { recursive: true, force: true });
        }
    });

    it("the Go SDK builds against its go.sum (go build ./... in sdk/)", () => {
        // Read-only modules: a go.sum that lacks an entry fails instead of being patched. About 2 minutes
        // the first time on 2 cores (the Pulumi Go SDK), seconds once GOCACHE holds it.
        const r = run("go", ["build", "-mod=readonly", "./..."], path.join(REPO, "sdk"), { GOTOOLCHAIN: "local", CGO_ENABLED: "0" });
        assert.strictEqual(r.status, 0, r.stdout + r.stderr);
    });
});
