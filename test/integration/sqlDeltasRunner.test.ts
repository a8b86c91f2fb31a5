import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { applyDelta, claimDelta, parseDelta, readHistory, revertDelta, SqlTarget, UNOWNED } from "../../sdk/sql";
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

// As the plugin records an owner: `<project>/<stack>` and the child's URN.
const OWNER = { stack: "proj/dev", urn: "urn:pulumi:dev::proj::delta:index:SqlDeltas$delta:index:SqlDelta::db-acme-x", instance: "0123456789abcdef" };
const MINE = { instance: OWNER.instance };
const OTHER = { stack: "proj/prod", urn: OWNER.urn.replace("::dev::", "::prod::"), instance: "fedcba9876543210" };
/** The history table as pulumi-delta 0.1 created it: no owner columns. */
const V01_TABLE = "(id text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL)";

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
            const first = await applyDelta(t, target, { ...SEED, appliedBy: "test", owner: OWNER });
            assert.strictEqual(first.outcome, "applied");
            assert.match(first.appliedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
            assert.strictEqual(pg.query("acme", "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 'users'"), "id,last_login");
            const again = await applyDelta(t, target, { ...SEED, appliedBy: "test", owner: OWNER });
            assert.deepStrictEqual(again, { outcome: "adopted", appliedAt: first.appliedAt, previousOwner: OWNER });
            assert.strictEqual(pg.query("acme", "SELECT id || ' ' || checksum || ' ' || applied_by FROM delta_history"), `${SEED.id} ${SEED.checksum} test`);
            const hist = await readHistory(t, target, [SEED.id, "nope"]);
            assert.deepStrictEqual([...hist], [[SEED.id, { checksum: SEED.checksum, appliedAt: first.appliedAt }]]);
            assert.deepStrictEqual(pgpassLeftovers(), []);
        });

        it("rolls back a failing delta and names tenant, delta, error and statement", async () => {
            await assert.rejects(applyDelta(t, target, { ...BAD, appliedBy: "test", owner: OWNER }), (err: Error) => {
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
            await assert.rejects(applyDelta(t, target, { ...edited, appliedBy: "test", owner: OWNER }), (err: Error) => {
                assert.strictEqual(
                    err.message,
                    `failed to apply delta ${SEED.id} to tenant acme (database acme on ${t.host}): its history row has checksum ${SEED.checksum}, but this delta's is ${edited.checksum}; ` +
                        "the tenant got a different version of it, so nothing was run. Reconcile by hand (fix the database, or the row in delta_history), then run again",
                );
                return true;
            });
        });

        it("reverts: down part and history row in one go; then nothing to undo", async () => {
            assert.deepStrictEqual(await revertDelta(t, target, { ...SEED, ...MINE }), { outcome: "reverted" });
            assert.strictEqual(pg.query("acme", "SELECT count(*) FROM information_schema.tables WHERE table_name = 'users'"), "0");
            assert.strictEqual(pg.query("acme", "SELECT count(*) FROM delta_history"), "0");
            assert.deepStrictEqual(await revertDelta(t, target, { ...SEED, ...MINE }), { outcome: "absent" });
            assert.deepStrictEqual(pgpassLeftovers(), []);
        });

        it("only the row's owner reverts; another instance's delete runs nothing; an owner records a new URN", async () => {
            await applyDelta(t, target, { ...SEED, appliedBy: "test", owner: OWNER });
            const owner = () => pg.query("acme", "SELECT concat_ws(' ', owner_stack, owner_urn, owner_instance) FROM delta_history");
            assert.deepStrictEqual(await revertDelta(t, target, { ...SEED, instance: OTHER.instance }), { outcome: "kept", owner: OWNER });
            assert.deepStrictEqual(await revertDelta(t, target, { ...SEED, instance: undefined }), { outcome: "kept", owner: OWNER });
            assert.strictEqual(pg.query("acme", "SELECT count(*) FROM information_schema.tables WHERE table_name = 'users'"), "1");
            // Another instance may not record itself; the owner may, under a new URN.
            assert.deepStrictEqual(await claimDelta(t, target, { id: SEED.id, owner: OTHER, claimUnowned: true }), { outcome: "kept", owner: OWNER });
            const renamed = { ...OWNER, urn: OWNER.urn.replace("db-acme", "db2-acme") };
            assert.deepStrictEqual(await claimDelta(t, target, { id: SEED.id, owner: renamed, claimUnowned: false }), { outcome: "owned" });
            assert.strictEqual(owner(), `${renamed.stack} ${renamed.urn} ${renamed.instance}`);
            assert.deepStrictEqual(await claimDelta(t, target, { id: "nope", owner: OWNER, claimUnowned: true }), { outcome: "absent" });
            // Adopting takes it over, naming whose it was.
            const adopted = await applyDelta(t, target, { ...SEED, appliedBy: "test", owner: OTHER });
            assert.deepStrictEqual(adopted.previousOwner, renamed);
            assert.strictEqual(owner(), `${OTHER.stack} ${OTHER.urn} ${OTHER.instance}`);
            assert.deepStrictEqual(await revertDelta(t, target, { ...SEED, ...MINE }), { outcome: "kept", owner: OTHER });
            assert.deepStrictEqual(await revertDelta(t, target, { ...SEED, instance: OTHER.instance }), { outcome: "reverted" });
            assert.strictEqual(pg.query("acme", "SELECT count(*) FROM information_schema.tables WHERE table_name = 'users'"), "0");
        });

        it("converts a 0.1 table on first write; its unowned rows belong to 0.1 state until claimed or adopted", async () => {
            const legacy = { ...target, historyTable: "legacy_history" };
            pg.query("acme", `SET ROLE app; CREATE TABLE legacy_history ${V01_TABLE}; CREATE TABLE users (id int); INSERT INTO legacy_history (id, checksum, applied_by) VALUES ('${SEED.id}', '${SEED.checksum}', 'pulumi-delta 0.1');`);
            const columns = () => pg.query("acme", "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'legacy_history'");
            // Refresh reads a 0.1 table as it is.
            assert.deepStrictEqual([...(await readHistory(t, legacy, [SEED.id]))].map(([id, r]) => `${id} ${r.checksum}`), [`${SEED.id} ${SEED.checksum}`]);
            assert.strictEqual(columns(), "id,checksum,applied_at,applied_by");
            // A 0.2 instance does not own an unowned row; its delete converts the table and leaves the row.
            assert.deepStrictEqual(await revertDelta(t, legacy, { ...SEED, ...MINE }), { outcome: "kept", owner: UNOWNED });
            assert.strictEqual(columns(), "id,checksum,applied_at,applied_by,owner_stack,owner_urn,owner_instance");
            // 0.1 state claims it on its first update, and then its delete (by its new instance id) reverts.
            assert.deepStrictEqual(await claimDelta(t, legacy, { id: SEED.id, owner: OWNER, claimUnowned: true }), { outcome: "owned" });
            assert.deepStrictEqual(await revertDelta(t, legacy, { ...SEED, instance: undefined }), { outcome: "kept", owner: OWNER });
            assert.deepStrictEqual(await revertDelta(t, legacy, { ...SEED, ...MINE }), { outcome: "reverted" });
            assert.strictEqual(pg.query("acme", "SELECT count(*) FROM information_schema.tables WHERE table_name = 'users'"), "0");
            pg.query("acme", "DROP TABLE legacy_history;");
        });

        it("stops a statement past statementTimeout and rolls back", async () => {
            const slow = parseDelta("0009_slow.sql", "CREATE TABLE slow (id int);\nSELECT pg_sleep(5);\n");
            await assert.rejects(applyDelta(t, { ...target, statementTimeout: 0.3 }, { ...slow, appliedBy: "test", owner: OWNER }), (err: Error) => {
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
        const first = await applyDelta(t, target, { ...SEED, appliedBy: "test", owner: OWNER });
        assert.strictEqual(first.outcome, "applied");
        assert.strictEqual(q("SELECT group_concat(name) FROM pragma_table_info('users')"), "id,last_login");
        assert.deepStrictEqual(await applyDelta(t, target, { ...SEED, appliedBy: "test", owner: OWNER }), { outcome: "adopted", appliedAt: first.appliedAt, previousOwner: OWNER });
        const bad = parseDelta("0002_bad.sql", "CREATE TABLE audit (id int);\nINSERT INTO\n  nosuch VALUES (1);\n");
        await assert.rejects(applyDelta(t, target, { ...bad, appliedBy: "test", owner: OWNER }), (err: Error) => {
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
        assert.deepStrictEqual(await revertDelta(t, target, { ...SEED, ...MINE }), { outcome: "reverted" });
        assert.strictEqual(q("SELECT count(*) FROM sqlite_master WHERE name = 'users'"), "0");
        assert.strictEqual(q("SELECT count(*) FROM delta_history"), "0");
        assert.deepStrictEqual(await revertDelta(t, target, { ...SEED, ...MINE }), { outcome: "absent" });
    });

    it("converts a 0.1 table, adopts taking over, and reverts only for the row's owner", async () => {
        q(`DROP TABLE delta_history; CREATE TABLE delta_history (id TEXT PRIMARY KEY NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), applied_by TEXT NOT NULL); CREATE TABLE users (id int); INSERT INTO delta_history (id, checksum, applied_by) VALUES ('${SEED.id}', '${SEED.checksum}', 'pulumi-delta 0.1');`);
        const columns = () => q("SELECT group_concat(name) FROM pragma_table_info('delta_history')");
        const owner = () => q("SELECT owner_stack || ' ' || owner_urn || ' ' || owner_instance FROM delta_history");
        assert.deepStrictEqual([...(await readHistory(t, target, []))].map(([id]) => id), [SEED.id]);
        // Not this instance's: nothing runs, nothing is written.
        assert.deepStrictEqual(await revertDelta(t, target, { ...SEED, ...MINE }), { outcome: "kept", owner: UNOWNED });
        assert.strictEqual(columns(), "id,checksum,applied_at,applied_by");
        const adopted = await applyDelta(t, target, { ...SEED, appliedBy: "test", owner: OWNER });
        assert.deepStrictEqual(adopted.previousOwner, UNOWNED);
        assert.strictEqual(columns(), "id,checksum,applied_at,applied_by,owner_stack,owner_urn,owner_instance");
        assert.strictEqual(owner(), `${OWNER.stack} ${OWNER.urn} ${OWNER.instance}`);
        assert.deepStrictEqual(await revertDelta(t, target, { ...SEED, instance: undefined }), { outcome: "kept", owner: OWNER });
        assert.deepStrictEqual(await claimDelta(t, target, { id: SEED.id, owner: OTHER, claimUnowned: true }), { outcome: "kept", owner: OWNER });
        const renamed = { ...OWNER, urn: OWNER.urn.replace("db-acme", "db2-acme") };
        assert.deepStrictEqual(await claimDelta(t, target, { id: SEED.id, owner: renamed, claimUnowned: false }), { outcome: "owned" });
        assert.strictEqual(owner(), `${renamed.stack} ${renamed.urn} ${renamed.instance}`);
        assert.strictEqual(q("SELECT count(*) FROM sqlite_master WHERE name = 'users'"), "1");
        assert.deepStrictEqual(await revertDelta(t, target, { ...SEED, ...MINE }), { outcome: "reverted" });
        assert.strictEqual(q("SELECT count(*) FROM sqlite_master WHERE name = 'users'"), "0");
        assert.strictEqual(q("SELECT count(*) FROM delta_history"), "0");
    });

    it("a row that changes hands between the check and the transaction: the delete fails and runs nothing", async () => {
        await applyDelta(t, target, { ...SEED, appliedBy: "test", owner: OWNER });
        // Another run adopts the row right after this one read it: a second writer between the two client runs.
        class Interleaved extends LocalTransport {
            private runs = 0;
            override exec(command: string, options?: Parameters<LocalTransport["exec"]>[1]): ReturnType<LocalTransport["exec"]> {
                if (++this.runs === 2) q(`UPDATE delta_history SET owner_instance = '${OTHER.instance}'`);
                return super.exec(command, options);
            }
        }
        await assert.rejects(revertDelta(new Interleaved(), target, { ...SEED, ...MINE }), {
            message:
                `failed to revert delta ${SEED.id} in tenant acme (database ${target.tenant.database} on local): its row in delta_history changed between the check and the transaction ` +
                "(another run got in between), so nothing was run and the transaction was rolled back; run again",
        });
        assert.strictEqual(q("SELECT count(*) FROM sqlite_master WHERE name = 'users'"), "1");
        assert.strictEqual(q("SELECT owner_instance FROM delta_history"), OTHER.instance);
        q("DROP TABLE users; DELETE FROM delta_history;");
    });

    it("refuses a missing database file instead of creating it", async () => {
        const missing = { ...target, tenant: { name: "ghost", database: path.join(dir, "ghost.db") } };
        await assert.rejects(applyDelta(t, missing, { ...SEED, appliedBy: "test", owner: OWNER }), /failed to read delta_history in tenant ghost .*unable to open database/);
        assert.strictEqual(fs.existsSync(missing.tenant.database), false);
    });
});
