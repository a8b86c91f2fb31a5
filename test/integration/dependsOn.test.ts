import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { installedProgram } from "../helpers/pulumi";
import { tempDir } from "../helpers/tree";

/**
 * A component's dependsOn does not reach its children by itself. Checked
 * under Pulumi's mocks (test/fixtures/depends, the packed library installed
 * as users install it): the resources that do the work wait for what the
 * user's DeltaDeployment and DeltaFleet depend on.
 */
describe("dependsOn on DeltaDeployment and DeltaFleet (Pulumi mocks)", function () {
    it("reaches the resources that do the work, so the engine waits for and records it", async () => {
        const dir = await installedProgram("depends");
        const work = tempDir("pd-depends-");
        try {
            fs.writeFileSync(path.join(work, "app.conf"), "server {}\n");
            const out = execFileSync(process.execPath, ["index.js", path.join(work, "app.conf")], {
                cwd: dir,
                encoding: "utf8",
                timeout: 60000,
                env: { ...process.env, PULUMI_DELTA_CACHE_DIR: path.join(work, "cache") },
            });
            const deps = Object.fromEntries((JSON.parse(out) as { type: string; name: string; dependsOn: string[] }[]).map((r) => [`${r.type} ${r.name}`, r.dependsOn]));
            const worker = "pulumi-nodejs:dynamic/pulumi-delta:DeltaDeployment";
            assert.deepStrictEqual(deps[`${worker} one`], ["vm"]);
            assert.deepStrictEqual(deps[`${worker} fleet-a`], ["vm"]);
            // After the canary, and still after the VM.
            assert.deepStrictEqual(deps[`${worker} fleet-b`], ["fleet-a", "vm"]);
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
