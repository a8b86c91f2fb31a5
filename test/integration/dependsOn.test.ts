import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { newStack, runCli, testBackend } from "../helpers/pulumi";
import { tempDir } from "../helpers/tree";

/**
 * A component's dependsOn does not reach its children by itself. Checked
 * with the real engine and plugin (test/fixtures/depends, previewed): the
 * resources that do the work, including the fleet's children that the
 * plugin constructs, wait for what the user's DeltaDeployment and
 * DeltaFleet depend on.
 */
describe("dependsOn on DeltaDeployment and DeltaFleet (real engine, preview)", function () {
    it("reaches the resources that do the work, so the engine waits for and records it", async () => {
        const work = tempDir("pd-depends-");
        const backend = testBackend();
        try {
            fs.writeFileSync(path.join(work, "app.conf"), "server {}\n");
            const stack = await newStack(backend, {
                fixture: "depends",
                config: { source: path.join(work, "app.conf"), vmDestination: path.join(work, "vm.conf"), stateDir: path.join(work, "state") },
                env: { PULUMI_DELTA_CACHE_DIR: path.join(work, "cache") },
            });
            const json = JSON.parse(await runCli(backend, stack, ["preview", "--json"])) as { steps: { urn: string; newState?: { type: string; dependencies?: string[] } }[] };
            const name = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
            const deps = Object.fromEntries(json.steps.filter((s) => s.newState).map((s) => [`${s.newState!.type} ${name(s.urn)}`, [...new Set((s.newState!.dependencies ?? []).map(name))].sort()]));
            const worker = "delta:index:DeltaDeployment";
            assert.deepStrictEqual(deps[`${worker} one`], ["vm"], JSON.stringify(deps));
            assert.deepStrictEqual(deps[`${worker} fleet-a`], ["vm"], JSON.stringify(deps));
            // After the canary, and still after the VM.
            assert.deepStrictEqual(deps[`${worker} fleet-b`], ["fleet-a", "vm"], JSON.stringify(deps));
            assert.ok(!fs.existsSync(path.join(work, "vm.conf")), "a preview deploys nothing");
            await stack.workspace.removeStack(stack.name);
        } finally {
            backend.dispose();
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
