import * as crypto from "crypto";
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { PLUGIN_VERSION, pluginTarball, pulumiCommand, testBackend, TestBackend } from "../helpers/pulumi";
import { filesOf, resetTree, tempDir } from "../helpers/tree";

/** A YAML program deploying `source` to `destination` on this machine. */
function yamlProgram(dir: string, extra: string): void {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
        path.join(dir, "Pulumi.yaml"),
        `name: pd-packaging
runtime: yaml
${extra}config:
  source: { type: string }
  destination: { type: string }
  stateDir: { type: string }
resources:
  site:
    type: delta:index:DeltaDeployment
    properties: { source: "\${source}", destination: "\${destination}", stateDir: "\${stateDir}" }
outputs:
  fileCount: \${site.fileCount}
`,
    );
}

describe("the plugin's tarball (real engine)", function () {
    let backend: TestBackend;
    let work: string;
    before(() => {
        backend = testBackend();
        work = tempDir("pd-packaging-");
    });
    after(() => {
        backend.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("holds the executable at its top level, small, with the schema and its version", () => {
        const tgz = pluginTarball();
        assert.strictEqual(path.basename(tgz), `pulumi-resource-delta-v${PLUGIN_VERSION}-linux-amd64.tar.gz`);
        const size = fs.statSync(tgz).size;
        console.log(`      ${path.basename(tgz)}: ${(size / 1024 / 1024).toFixed(1)} MiB`);
        assert.ok(size < 8 * 1024 * 1024, `${size} bytes`);
        const listing = execFileSync("tar", ["-tvzf", tgz], { encoding: "utf8" });
        assert.match(listing, /^-rwxr-xr-x \S+ +\d+ \S+ \S+ \.\/pulumi-resource-delta$/m);
        for (const f of ["./plugin.js", "./construct.js", "./chunkWorker.js", "./schema.json", "./package.json"]) assert.ok(listing.includes(` ${f}\n`), f);
    });

    it("carries the worker that chunks the second half of a large file, and it runs from the bundle", () => {
        const unpacked = path.join(work, "worker");
        fs.mkdirSync(unpacked);
        execFileSync("tar", ["-xzf", pluginTarball(), "-C", unpacked]);
        const data = path.join(work, "large.bin");
        fs.writeFileSync(data, crypto.randomBytes(8 * 1024 * 1024));
        // The plugin starts it by this name from beside plugin.js; without it large files are chunked on one thread.
        const script = `const { Worker } = require("worker_threads");
const w = new Worker(${JSON.stringify(path.join(unpacked, "chunkWorker.js"))}, { workerData: { path: ${JSON.stringify(data)}, start: 0, end: 8388608, params: { min: 16384, avg: 65536, max: 262144 } } });
w.once("message", (c) => { console.log(JSON.stringify({ count: c.length, bytes: c.reduce((n, x) => n + x.length, 0) })); process.exit(0); });
w.once("error", (e) => { console.error(e.message); process.exit(1); });`;
        const out = JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" })) as { count: number; bytes: number };
        assert.strictEqual(out.bytes, 8 * 1024 * 1024);
        assert.ok(out.count > 4, `${out.count} chunks`);
    });

    it("runs from a project's plugins.providers path, with nothing installed in the Pulumi home", async () => {
        const unpacked = path.join(work, "plugin");
        fs.mkdirSync(unpacked);
        execFileSync("tar", ["-xzf", pluginTarball(), "-C", unpacked]);
        const program = path.join(work, "program");
        yamlProgram(program, `plugins:\n  providers:\n    - name: delta\n      path: ${unpacked}\n`);
        const home = path.join(work, "empty-home");
        fs.mkdirSync(home);
        const src = path.join(work, "src");
        const dest = path.join(work, "dest");
        resetTree(src, { "a.txt": "a\n", "b/c.txt": "c\n" });
        const stack = await LocalWorkspace.createOrSelectStack({ stackName: "pkg", workDir: program }, { pulumiCommand: await pulumiCommand(), pulumiHome: home, envVars: backend.env });
        await stack.setAllConfig({ source: { value: src }, destination: { value: dest }, stateDir: { value: path.join(work, "state") } });
        const up = await stack.up();
        assert.strictEqual(up.outputs.fileCount.value, 2);
        assert.deepStrictEqual(filesOf(dest), filesOf(src));
        assert.ok(!fs.existsSync(path.join(home, "plugins", `resource-delta-v${PLUGIN_VERSION}`)), "not installed: run from the path");
        await stack.destroy();
        assert.ok(!fs.existsSync(dest), "destroy removes what it created");
        await stack.workspace.removeStack("pkg");
    });
});
