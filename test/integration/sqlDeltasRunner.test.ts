import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { applyDelta, parseDelta, readHistory, revertDelta, SqlTarget } from "../../sdk/sql";
import { connectSsh } from "../../sdk/transport/ssh";
import { LocalTransport } from "../../sdk/transport/local";
import type { Transport } from "../../sdk/transport/types";
import { Postgres, startPostgres } from "../helpers/postgres";
import { Sshd, startSshd } from "../helpers/sshd";

const SEED = parseDelta(
    "delta_20250315_add_last_login.sql",
    "CREATE TABLE users (id int PRIMARY KEY);\nALTER TABLE users ADD COLUMN last_login TIMESTAMP;\n-- Reversible delta\n-- DROP TABLE users;\n",
);
const BAD = parseDelta(
    "delta_20250316_bad.sql",
    "CREATE TABLE audit (id int);\n-- the next one fails\nALTER TABLE users\n  ADD COLUMN plan nosuchtype;\n-- Reversible delta\n-- DROP TABLE audit;\n",
);

function pgpassLeftovers(): string[] {
    return fs.readdirSync(os.homedir()).filter((n) => n.startsWith(".pulumi-delta-pgpass-"));
}

for (const via of ["local", "ssh"] as const) {
    describe(`sql runner against PostgreSQL 15 over ${via} transport`, function () {
        let pg: Postgres;
        let sshd: Sshd | undefined;
        let t: Transport;
        let target: SqlTarget;

        before(async () => {
            pg = await startPostgres();
            pg.createDatabase("acme");
            if (via === "ssh") {
                sshd = await startSshd();
                t = await connectSsh(sshd.connection());
            } else t = new LocalTransport();
            target = {
                engine: "postgres",
                tenant: { name: "acme", database: "acme" },
                historyTable: "delta_history",
                client: { host: pg.host, port: pg.port, user: pg.user, password: pg.password },
            };
        });
        after(async () => {
            await t?.close();
            await sshd?.stop();
            await pg?.stop();
        });

        it("applies once, then adopts; the password file is gone after each run", async () => {
            const first = await applyDelta(t, target, { ...SEED, appliedBy: "test" });
            assert.strictEqual(first.outcome, "applied");
            assert.match(first.appliedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
            assert.strictEqual(pg.query("acme", "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 'users'"), "id,last_login");
            const again = await applyDelta(t, target, { ...SEED, appliedBy: "test" });
            assert.deepStrictEqual(again, { outcome: "adopted", appliedAt: first.appliedAt });
            assert.strictEqual(pg.query("acme", "SELECT id || ' ' || checksum || ' ' || applied_by FROM delta_history"), `${SEED.id} ${SEED.checksum} test`);
            const hist = await readHistory(t, target, [SEED.id, "nope"]);
            assert.deepStrictEqual([...hist], [[SEED.id, { checksum: SEED.checksum, appliedAt: first.appliedAt }]]);
            assert.deepStrictEqual(pgpassLeftovers(), []);
        });

        it("rolls back a failing delta and names tenant, delta, error and statement", async () => {
            await assert.rejects(applyDelta(t, target, { ...BAD, appliedBy: "test" }), (err: Error) => {
                assert.strictEqual(
                    err.message,
                    [
                        `failed to apply delta delta_20250316_bad to tenant acme (database acme on ${t.host}): ERROR:  type "nosuchtype" does not exist`,
                        "LINE 2:   ADD COLUMN plan nosuchtype;",
                        "                          ^",
                        "failing statement (up part, line 3):",
                        "    ALTER TABLE users",
                        "      ADD COLUMN plan nosuchtype;",
                        "The transaction was rolled back: tenant acme keeps no part of this delta.",
                    ].join("\n"),
                );
                return true;
            });
            assert.strictEqual(pg.query("acme", "SELECT count(*) FROM information_schema.tables WHERE table_name = 'audit'"), "0");
            assert.strictEqual(pg.query("acme", "SELECT count(*) FROM delta_history"), "1");
        });

        it("refuses a delta recorded under another checksum, running nothing", async () => {
            const edited = parseDelta(`${SEED.id}.sql`, "CREATE TABLE users (id bigint PRIMARY KEY);\n");
            await assert.rejects(applyDelta(t, target, { ...edited, appliedBy: "test" }), (err: Error) => {
                assert.strictEqual(
                    err.message,
                    `failed to apply delta ${SEED.id} to tenant acme (database acme on ${t.host}): its history row has checksum ${SEED.checksum}, but this delta's is ${edited.checksum}; ` +
                        "the tenant got a different version of it, so nothing was run. Reconcile by hand (fix the database, or the row in delta_history), then run again",
                );
                return true;
            });
        });

        it("reverts: down part and history row in one go; then nothing to undo", async () => {
            assert.strictEqual(await revertDelta(t, target, SEED), "reverted");
            assert.strictEqual(pg.query("acme", "SELECT count(*) FROM information_schema.tables WHERE table_name = 'users'"), "0");
            assert.strictEqual(pg.query("acme", "SELECT count(*) FROM delta_history"), "0");
            assert.strictEqual(await revertDelta(t, target, SEED), "absent");
            assert.deepStrictEqual(pgpassLeftovers(), []);
        });

        it("stops a statement past statementTimeout and rolls back", async () => {
            const slow = parseDelta("0009_slow.sql", "CREATE TABLE slow (id int);\nSELECT pg_sleep(5);\n");
            await assert.rejects(applyDelta(t, { ...target, statementTimeout: 0.3 }, { ...slow, appliedBy: "test" }), (err: Error) => {
                assert.match(err.message, /^failed to apply delta 0009_slow to tenant acme .*: ERROR: {2}canceling statement due to statement timeout\nfailing statement \(up part, line 2\):\n {4}SELECT pg_sleep\(5\);\n/);
                return true;
            });
            assert.strictEqual(pg.query("acme", "SELECT count(*) FROM information_schema.tables WHERE table_name = 'slow'"), "0");
        });

        it("fails a wrong password at once instead of prompting", async () => {
            const wrong = { ...target, client: { ...target.client, password: "wrong:pass\\word" } };
            await assert.rejects(readHistory(t, wrong, []), /failed to read delta_history in tenant acme \(database acme on .*\): .*password authentication failed for user "app"/s);
        });
    });
}

describe("sql runner against sqlite3", function () {
    let dir: string;
    let target: SqlTarget;
    const t = new LocalTransport();

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pd-sqlite-"));
        execFileSync("sqlite3", [path.join(dir, "acme.db"), "VACUUM;"]);
        target = { engine: "sqlite", tenant: { name: "acme", database: path.join(dir, "acme.db") }, historyTable: "delta_history", client: {} };
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const q = (sql: string) => execFileSync("sqlite3", [target.tenant.database, sql], { encoding: "utf8" }).trim();

    it("reads an empty history from a database without the table", async () => {
        assert.deepStrictEqual([...(await readHistory(t, target, []))], []);
    });

    it("applies, adopts, rolls back a failure, reverts", async () => {
        const first = await applyDelta(t, target, { ...SEED, appliedBy: "test" });
        assert.strictEqual(first.outcome, "applied");
        assert.strictEqual(q("SELECT group_concat(name) FROM pragma_table_info('users')"), "id,last_login");
        assert.deepStrictEqual(await applyDelta(t, target, { ...SEED, appliedBy: "test" }), { outcome: "adopted", appliedAt: first.appliedAt });
        const bad = parseDelta("0002_bad.sql", "CREATE TABLE audit (id int);\nINSERT INTO\n  nosuch VALUES (1);\n");
        await assert.rejects(applyDelta(t, target, { ...bad, appliedBy: "test" }), (err: Error) => {
            assert.strictEqual(
                err.message,
                [
                    `failed to apply delta 0002_bad to tenant acme (database ${target.tenant.database} on local): no such table: nosuch`,
                    "failing statement (up part, line 2):",
                    "    INSERT INTO",
                    "      nosuch VALUES (1);",
                    "The transaction was rolled back: tenant acme keeps no part of this delta.",
                ].join("\n"),
            );
            return true;
        });
        assert.strictEqual(q("SELECT count(*) FROM sqlite_master WHERE name = 'audit'"), "0");
        assert.strictEqual(await revertDelta(t, target, SEED), "reverted");
        assert.strictEqual(q("SELECT count(*) FROM sqlite_master WHERE name = 'users'"), "0");
        assert.strictEqual(q("SELECT count(*) FROM delta_history"), "0");
        assert.strictEqual(await revertDelta(t, target, SEED), "absent");
    });

    it("refuses a missing database file instead of creating it", async () => {
        const missing = { ...target, tenant: { name: "ghost", database: path.join(dir, "ghost.db") } };
        await assert.rejects(applyDelta(t, missing, { ...SEED, appliedBy: "test" }), /failed to read delta_history in tenant ghost .*unable to open database/);
        assert.strictEqual(fs.existsSync(missing.tenant.database), false);
    });
});
