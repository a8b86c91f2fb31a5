import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { installedProgram, outputValues, pulumiCommand, REPO, testBackend } from "../helpers/pulumi";

const EXAMPLE = path.join(REPO, "examples", "tenant-migrations");

/**
 * examples/tenant-migrations as a user runs it: a copy of the folder with the
 * library installed from `npm pack`, local SQLite tenants, up then destroy.
 */
describe("examples/tenant-migrations (real engine, local SQLite)", function () {
    it("applies the three deltas to three tenants, then destroy reverts them", async () => {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "pd-example-sql-"));
        const backend = testBackend();
        try {
            const dir = await installedProgram(EXAMPLE);
            const dbs = path.join(work, "tenants");
            const stack = await LocalWorkspace.createOrSelectStack(
                { stackName: "example", workDir: dir },
                { pulumiCommand: await pulumiCommand(), pulumiHome: backend.pulumiHome, envVars: backend.env },
            );
            await stack.setConfig("databaseDir", { value: dbs });
            const up = await stack.up();
            const ids = ["0001_create_users", "delta_20250315_add_last_login", "20250401093000_add_plan"];
            assert.deepStrictEqual(outputValues(up.outputs).applied, { acme: ids, globex: ids, initech: ids });
            const q = (t: string, sql: string) => execFileSync("sqlite3", [path.join(dbs, `${t}.db`), sql], { encoding: "utf8" }).trim();
            for (const t of ["acme", "globex", "initech"]) {
                assert.strictEqual(q(t, "SELECT group_concat(name) FROM pragma_table_info('users')"), "id,email,last_login,plan");
                assert.strictEqual(q(t, "SELECT count(*) FROM delta_history"), "3");
            }
            assert.strictEqual((await stack.preview()).changeSummary.same, 1 + 1 + 9);
            await stack.destroy();
            for (const t of ["acme", "globex", "initech"]) {
                assert.strictEqual(q(t, "SELECT count(*) FROM sqlite_master WHERE name IN ('users', 'users_plan')"), "0");
                assert.strictEqual(q(t, "SELECT count(*) FROM delta_history"), "0");
            }
            await stack.workspace.removeStack("example");
        } finally {
            backend.dispose();
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
