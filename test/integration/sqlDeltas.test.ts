import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { parseDelta } from "../../sdk/sql";
import { Postgres, startPostgres } from "../helpers/postgres";
import { collector, outputValues, setConfig, StackOptions, TestBackend, testBackend, withStack } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";

const D1 = "delta_20250315_add_last_login.sql";
const D2 = "20250401093000_index_last_login.sql";
const D3 = "20250402000000_plans.sql";
const FILES: Record<string, string> = {
    [D1]: "-- delta_20250315_add_last_login.sql\nALTER TABLE users ADD COLUMN last_login TIMESTAMP;\n-- Reversible delta\n-- ALTER TABLE users DROP COLUMN last_login;\n",
    // Its down fails if D1's down ran first (the index would be gone): destroy proves newest-first.
    [D2]: "-- migrate:up\nCREATE INDEX users_last_login ON users (last_login);\n\n-- migrate:down\nDROP INDEX users_last_login;\n",
    [D3]: "-- migrate:up\nALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';\nCREATE TABLE invoices (id serial PRIMARY KEY, total numeric);\n-- migrate:down\nDROP TABLE invoices;\nALTER TABLE users DROP COLUMN plan;\n",
};
const id = (file: string) => file.replace(/\.sql$/, "");
const checksum = (file: string) => parseDelta(file, FILES[file]).checksum;

/** The non-"same" steps of an operation, as "op resource-name", sorted. */
function steps(events: EngineEvent[]): string[] {
    const out: string[] = [];
    for (const e of events) {
        const m = e.resourcePreEvent?.metadata;
        if (!m || m.op === "same" || !m.urn.includes("SqlDelta")) continue;
        out.push(`${m.op} ${m.urn.split("::").pop()}`);
    }
    return out.sort();
}

async function previewSteps(stack: Stack): Promise<string[]> {
    const events: EngineEvent[] = [];
    await stack.preview({ onEvent: (e) => events.push(e) });
    return steps(events);
}

/** Fails unless the operation fails; returns everything the engine printed. */
async function failing(op: (o: { onOutput: (s: string) => void }) => Promise<unknown>): Promise<string> {
    const out = collector();
    let failed = false;
    try {
        await op({ onOutput: out.onOutput });
    } catch (err) {
        failed = true;
        return out.text() + String((err as Error).message);
    }
    assert.ok(failed, `expected failure; engine said:\n${out.text()}`);
    return "";
}

describe("SqlDeltas on PostgreSQL 15 over ssh (real engine, real sshd, real database)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let pg: Postgres;
    let work: string;
    const tenants = ["acme", "globex", "initech", "umbrella"];

    before(async () => {
        backend = testBackend();
        [sshd, pg] = await Promise.all([startSshd(), startPostgres()]);
        for (const t of tenants) {
            pg.createDatabase(t);
            pg.query(t, "SET ROLE app; CREATE TABLE users (id serial PRIMARY KEY, email text);");
        }
        work = fs.mkdtempSync(path.join(os.tmpdir(), "pd-sql-it-"));
    });
    after(async () => {
        await pg?.stop();
        await sshd?.stop();
        backend?.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });

    function options(dir: string, tenantList: object): StackOptions {
        return {
            fixture: "sql",
            config: {
                host: sshd.host,
                port: sshd.port,
                user: sshd.user,
                hostKey: sshd.hostKey,
                deltas: dir,
                tenants: tenantList,
                client: { host: pg.host, port: pg.port, user: pg.user },
            },
            secrets: { privateKey: sshd.privateKey, dbPassword: pg.password },
        };
    }
    function writeDeltas(dir: string, files: string[]): void {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir, { recursive: true });
        for (const f of files) fs.writeFileSync(path.join(dir, f), FILES[f]);
    }
    const history = (t: string) => pg.query(t, "SELECT coalesce(string_agg(id || ' ' || applied_by, ',' ORDER BY id), '') FROM delta_history");
    const appliedAt = (t: string) => pg.query(t, "SELECT string_agg(applied_at::text, ',' ORDER BY id) FROM delta_history");
    const columns = (t: string) => pg.query(t, "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'users'");
    const hasIndex = (t: string) => pg.query(t, "SELECT count(*) FROM pg_indexes WHERE indexname = 'users_last_login'");

    it("applies, adds a tenant (adopting a hand-applied delta), refuses edits, refreshes, rolls back a failure, removes, destroys", async () => {
        const dir = path.join(work, "deltas");
        writeDeltas(dir, [D1, D2]);
        const three = tenants.slice(0, 3);
        await withStack(backend, options(dir, three), async (stack) => {
            // 3 tenants × 2 deltas (seed + dbmate).
            const up1 = await stack.up();
            assert.deepStrictEqual(outputValues(up1.outputs).applied, Object.fromEntries(three.map((t) => [t, [id(D1), id(D2)]])));
            for (const t of three) {
                assert.strictEqual(columns(t), "id,email,last_login");
                assert.strictEqual(hasIndex(t), "1");
            }
            assert.strictEqual(three.map((t) => pg.query(t, "SELECT count(*) FROM delta_history")).join(","), "2,2,2");
            assert.strictEqual(history("acme"), `${id(D2)} pulumi-delta pulumi-delta-sql-it/${stack.name} db,${id(D1)} pulumi-delta pulumi-delta-sql-it/${stack.name} db`);
            const before = Object.fromEntries(three.map((t) => [t, appliedAt(t)]));

            // Secrets stay encrypted in state, inputs and outputs; each delta is the plugin's resource, no serialized provider.
            // (exportStack would decrypt: read the backend's file as stored.)
            const stateFile = path.join(backend.dir, "state", ".pulumi", "stacks", "pulumi-delta-sql-it", `${stack.name}.json`);
            const text = fs.readFileSync(stateFile, "utf8");
            assert.ok(!text.includes(pg.password), "database password in state");
            assert.ok(!text.includes(sshd.privateKey.split("\n")[1]), "private key in state");
            type Props = Record<string, unknown>;
            // Encrypted at the path, or as part of an enclosing value that is a secret as a whole (the SDK sends `client` so).
            const encrypted = (props: Props, keys: string[]): boolean => {
                let v: unknown = props;
                for (const k of keys) {
                    if (!v || typeof v !== "object") return false;
                    if (typeof (v as Props).ciphertext === "string") return true;
                    v = (v as Props)[k];
                }
                return !!v && typeof v === "object" && typeof (v as Props).ciphertext === "string";
            };
            const deployment = JSON.parse(text).checkpoint.latest as { resources: { type: string; provider?: string; inputs?: Props; outputs?: Props }[] };
            const children = deployment.resources.filter((r) => r.type === "delta:index:SqlDelta");
            assert.strictEqual(children.length, 6, "3 tenants × 2 deltas");
            for (const r of children) {
                for (const props of [r.inputs!, r.outputs!]) {
                    assert.ok(encrypted(props, ["client", "password"]), "password stored encrypted");
                    assert.ok(encrypted(props, ["connection", "privateKey"]), "private key stored encrypted");
                    assert.strictEqual(props.__provider, undefined);
                }
                assert.match(r.provider ?? "", /::pulumi:providers:delta::default_0_2_0::/);
            }

            // A 4th tenant that already has D1, applied by hand with the same checksum.
            pg.query(
                "umbrella",
                "SET ROLE app; ALTER TABLE users ADD COLUMN last_login TIMESTAMP; " +
                    "CREATE TABLE delta_history (id text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL); " +
                    `INSERT INTO delta_history (id, checksum, applied_by) VALUES ('${id(D1)}', '${checksum(D1)}', 'by hand');`,
            );
            await setConfig(stack, options(dir, tenants));
            assert.deepStrictEqual(await previewSteps(stack), [`create db-umbrella-${id(D1)}`, `create db-umbrella-${id(D2)}`].sort());
            const out = collector();
            await stack.up({ onOutput: out.onOutput });
            assert.match(out.text(), /db: tenant umbrella already has delta_20250315_add_last_login recorded with the same checksum; adopted it without running it/);
            for (const t of three) assert.strictEqual(appliedAt(t), before[t], `applied_at of ${t} changed`);
            assert.strictEqual(history("umbrella"), `${id(D2)} pulumi-delta pulumi-delta-sql-it/${stack.name} db,${id(D1)} by hand`);
            assert.strictEqual(columns("umbrella"), "id,email,last_login");

            // An applied delta edited afterwards: the preview refuses, naming file, tenant and both checksums.
            const editedText = FILES[D2].replace("-- migrate:up\n", "-- migrate:up\n-- an afterthought\n");
            fs.writeFileSync(path.join(dir, D2), editedText);
            const edited = parseDelta(D2, editedText).checksum;
            const refused = await failing((o) => stack.preview(o));
            const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
            const before1 = esc(`${path.join(dir, D2)}: delta ${id(D2)} is applied to tenant `);
            const after1 = esc(` with checksum ${checksum(D2)}, but the file now has ${edited}; an applied delta must not change`);
            assert.match(refused, new RegExp(`${before1}(acme|globex|initech|umbrella)${after1}`));
            writeDeltas(dir, [D1, D2]);

            // A history row deleted by hand: refresh drops the delta from state; the next preview creates it.
            pg.query("initech", `DELETE FROM delta_history WHERE id = '${id(D2)}'`);
            await stack.refresh();
            assert.deepStrictEqual(await previewSteps(stack), [`create db-initech-${id(D2)}`]);
            // Put the row back by hand: the create adopts it instead of failing on the existing index.
            pg.query("initech", `INSERT INTO delta_history (id, checksum, applied_by) VALUES ('${id(D2)}', '${checksum(D2)}', 'restored')`);
            await stack.up();
            assert.strictEqual(hasIndex("initech"), "1");

            // Order is kept: a new delta slipped before an applied one is refused, and so is removing one while a later one stays.
            fs.writeFileSync(path.join(dir, "20250320_between.sql"), "SELECT 1;\n");
            const slipped = await failing((o) => stack.preview(o));
            assert.match(slipped, new RegExp(`delta 20250320_between is new but sorts before ${id(D2)}, which (acme|globex|initech|umbrella) already has; rename it to sort after the last applied delta, or set allowOutOfOrder: true`));
            writeDeltas(dir, [D2]);
            const removed = await failing((o) => stack.preview(o));
            assert.match(removed, new RegExp(`delta ${id(D1)} was removed but ${id(D2)}, applied after it, stays; remove ${id(D2)} too`));
            writeDeltas(dir, [D1, D2]);

            // A delta that fails in one tenant only: it keeps nothing of it; the error says where and what.
            pg.query("globex", "SET ROLE app; CREATE TABLE invoices (id int);");
            writeDeltas(dir, [D1, D2, D3]);
            const failed = await failing((o) => stack.up(o));
            assert.ok(failed.includes(`failed to apply delta ${id(D3)} to tenant globex (database globex on `), failed);
            assert.ok(failed.includes(`ERROR:  relation "invoices" already exists`), failed);
            assert.ok(failed.includes("failing statement (up part, line 2):"), failed);
            assert.ok(failed.includes("    CREATE TABLE invoices (id serial PRIMARY KEY, total numeric);"), failed);
            assert.strictEqual(columns("globex"), "id,email,last_login");
            for (const t of ["acme", "initech", "umbrella"]) assert.strictEqual(columns(t), "id,email,last_login,plan");
            pg.query("globex", "DROP TABLE invoices;");
            await stack.up();
            assert.strictEqual(columns("globex"), "id,email,last_login,plan");
            assert.deepStrictEqual(await previewSteps(stack), []);

            // Remove the newest delta: deletes in every tenant run its down part.
            writeDeltas(dir, [D1, D2]);
            assert.deepStrictEqual(await previewSteps(stack), tenants.map((t) => `delete db-${t}-${id(D3)}`).sort());
            await stack.up();
            for (const t of tenants) {
                assert.strictEqual(columns(t), "id,email,last_login");
                assert.strictEqual(pg.query(t, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'invoices'"), "0");
            }

            // Destroy: downs newest first in every tenant; history tables empty.
            await stack.destroy();
            for (const t of tenants) {
                assert.strictEqual(columns(t), "id,email");
                assert.strictEqual(hasIndex(t), "0");
                assert.strictEqual(pg.query(t, "SELECT count(*) FROM delta_history"), "0");
            }
        });
    });

    it("refuses a tenant name that could inject SQL; nothing runs", async () => {
        const dir = path.join(work, "deltas-inject");
        writeDeltas(dir, [D1]);
        await withStack(backend, options(dir, ["acme; DROP TABLE users"]), async (stack) => {
            const text = await failing((o) => stack.up(o));
            assert.ok(text.includes('tenants[0] must be 1-63 letters, digits, "_" or "-", starting with a letter or digit'), text);
            assert.strictEqual(columns("acme"), "id,email");
        });
    });
});

describe("SqlDeltas on sqlite3 over ssh (real engine, real sshd)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let work: string;

    before(async () => {
        backend = testBackend();
        sshd = await startSshd();
        work = fs.mkdtempSync(path.join(os.tmpdir(), "pd-sqlite-it-"));
    });
    after(async () => {
        await sshd?.stop();
        backend?.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("applies 2 deltas to 3 tenants, then destroy reverts them newest first", async () => {
        const dir = path.join(work, "deltas");
        fs.mkdirSync(dir);
        for (const f of [D1, D2]) fs.writeFileSync(path.join(dir, f), FILES[f]);
        const dbs = path.join(work, "dbs");
        fs.mkdirSync(dbs);
        const tenants = ["acme", "globex", "initech"];
        const q = (t: string, sql: string) => execFileSync("sqlite3", [path.join(dbs, `${t}.db`), sql], { encoding: "utf8" }).trim();
        for (const t of tenants) q(t, "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);");
        const options: StackOptions = {
            fixture: "sql",
            config: { host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey, deltas: dir, tenants, engine: "sqlite", databaseDir: dbs },
            secrets: { privateKey: sshd.privateKey },
        };
        await withStack(backend, options, async (stack) => {
            const up = await stack.up();
            assert.deepStrictEqual(outputValues(up.outputs).applied, Object.fromEntries(tenants.map((t) => [t, [id(D1), id(D2)]])));
            for (const t of tenants) {
                assert.strictEqual(q(t, "SELECT group_concat(name) FROM pragma_table_info('users')"), "id,email,last_login");
                assert.strictEqual(q(t, "SELECT group_concat(id || ' ' || checksum, ',') FROM (SELECT * FROM delta_history ORDER BY id)"), `${id(D2)} ${checksum(D2)},${id(D1)} ${checksum(D1)}`);
            }
            await stack.destroy();
            for (const t of tenants) {
                assert.strictEqual(q(t, "SELECT group_concat(name) FROM pragma_table_info('users')"), "id,email");
                assert.strictEqual(q(t, "SELECT count(*) FROM sqlite_master WHERE name = 'users_last_login'"), "0");
                assert.strictEqual(q(t, "SELECT count(*) FROM delta_history"), "0");
            }
        });
    });
});
