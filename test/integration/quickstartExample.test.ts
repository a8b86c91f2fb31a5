import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { installedProgram, newStack, outputValues, REPO, testBackend } from "../helpers/pulumi";
import { filesOf, snapshot, tempDir } from "../helpers/tree";

/** examples/quickstart (the root project's program) as a user runs it, from a copy with the packed library installed. */
describe("examples/quickstart (real engine, local target)", function () {
    it("deploys the site, previews no change on a second run, and destroy leaves nothing", async () => {
        const work = tempDir("pd-example-quickstart-");
        const backend = testBackend();
        try {
            const dest = path.join(work, "site");
            const stack = await newStack(backend, { fixture: path.join(REPO, "examples", "quickstart"), config: { destination: dest, stateDir: path.join(work, "state") } });
            const up = await stack.up();
            assert.deepStrictEqual(filesOf(dest), filesOf(path.join(await installedProgram(path.join(REPO, "examples", "quickstart")), "site")));
            assert.deepStrictEqual(outputValues(up.outputs).fileCount, 2);
            assert.deepStrictEqual((await stack.preview()).changeSummary, { same: 2 });
            await stack.destroy();
            assert.deepStrictEqual(snapshot(dest), {});
            // Only the records (deployment and destroy) stay.
            for (const folder of fs.readdirSync(path.join(work, "state"))) assert.deepStrictEqual(fs.readdirSync(path.join(work, "state", folder)), ["records"]);
            await stack.workspace.removeStack(stack.name);
        } finally {
            backend.dispose();
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
