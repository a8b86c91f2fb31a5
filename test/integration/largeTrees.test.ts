import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { collector, outputValues, setConfig, StackOptions, testBackend, TestBackend, withStack } from "../helpers/pulumi";
import { filesOf, resetTree, tempDir, TreeSpec, writeTree } from "../helpers/tree";

/** A tree of `n` small files. */
function tree(n: number, tag = "v1"): TreeSpec {
    const spec: TreeSpec = {};
    for (let i = 0; i < n; i++) spec[`dir${i % 5}/file${i}.txt`] = `${tag} ${i}\n`;
    return spec;
}

describe("DeltaDeployment above diffFileLimit (real engine, local)", function () {
    let backend: TestBackend;
    let work: string;
    before(() => (backend = testBackend()));
    after(() => backend.dispose());
    beforeEach(() => (work = tempDir("pd-large-")));
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    it("carries only the digest as input, lists the delta under Diagnostics, and switches modes without a replace or a resend", async () => {
        const src = path.join(work, "src");
        const dest = path.join(work, "dest");
        resetTree(src, tree(30));
        const opts = (limit: number): StackOptions => ({ config: { source: src, destination: dest, stateDir: path.join(work, "state"), diffFileLimit: limit } });
        await withStack(backend, opts(10), async (stack) => {
            await stack.up();
            assert.deepStrictEqual(filesOf(dest), filesOf(src));
            const exported = await stack.exportStack();
            const res = exported.deployment.resources.find((r: { type: string }) => r.type === "delta:index:DeltaDeployment");
            assert.ok(!("files" in res.inputs), "no per-file map in the inputs above the limit");
            assert.strictEqual(res.inputs.fileCount, 30);

            // A change: the plain preview lists exactly the changed paths; up sends only them.
            writeTree(src, { "dir1/file1.txt": "changed\n", "dir0/new.txt": "new\n" });
            fs.rmSync(path.join(src, "dir2/file2.txt"));
            const plain = collector();
            await stack.preview({ onOutput: plain.onOutput });
            assert.match(plain.text(), /site: 1 added, 1 changed, 1 removed, 28 unchanged → local:/);
            const diag = plain.text().slice(plain.text().indexOf("Diagnostics:"));
            assert.deepStrictEqual([...diag.matchAll(/^\s+([~+-]) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`), ["+ dir0/new.txt", "~ dir1/file1.txt", "- dir2/file2.txt"]);
            const up = await stack.up();
            assert.deepStrictEqual(outputValues(up.outputs).lastDelta, { added: 1, changed: 1, removed: 1, bytesSent: 12 });
            assert.deepStrictEqual(filesOf(dest), filesOf(src));

            // Below the limit again: the map comes back as an input, nothing is sent. diffFileLimit is an
            // input of the resource itself, so the engine records its change as an update (no replace).
            await setConfig(stack, opts(1000));
            const below = await stack.up();
            assert.deepStrictEqual(below.summary.resourceChanges, { same: 1, update: 1 });
            assert.deepStrictEqual(outputValues(below.outputs).lastDelta, { added: 0, changed: 0, removed: 0, bytesSent: 0 });
            assert.deepStrictEqual(filesOf(dest), filesOf(src));
            const after = await stack.exportStack();
            const res2 = after.deployment.resources.find((r: { type: string }) => r.type === "delta:index:DeltaDeployment");
            assert.strictEqual(Object.keys(res2.inputs.files).length, 30);
            // And back above it, again without a replace or a resend.
            await setConfig(stack, opts(10));
            const above = await stack.up();
            assert.deepStrictEqual(above.summary.resourceChanges, { same: 1, update: 1 });
            assert.deepStrictEqual(outputValues(above.outputs).lastDelta, { added: 0, changed: 0, removed: 0, bytesSent: 0 });
            assert.deepStrictEqual(filesOf(dest), filesOf(src));
            // Nothing changed since: a preview names no change.
            assert.deepStrictEqual((await stack.preview()).changeSummary, { same: 2 });
        });
    });
});
