import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { parseDelta } from "../../sdk/sql";
import { Postgres, startPostgres } from "../helpers/postgres";
import { collector, newStack, setConfig, StackOptions, TestBackend, testBackend, withStack } from "../helpers/pulumi";

// Regressions: a rename without an alias, an `up --replace` of one child, and
// a second stack on the same tenant each made an old child's delete revert a
// delta that a new child had just adopted, dropping the tables and their rows.

const PROJECT = "pulumi-delta-sql-it";
const D1 = "0001_accounts.sql";
const D2 = "0002_invoices.sql";
const FILES: Record<string, string> = {
    [D1]: "-- migrate:up\nCREATE TABLE accounts (id serial PRIMARY KEY, name text NOT NULL);\nINSERT INTO accounts (name) VALUES ('seed');\n-- migrate:down\nDROP TABLE accounts;\n",
    [D2]: "-- migrate:up\nCREATE TABLE invoices (id serial PRIMARY KEY, account int NOT NULL REFERENCES accounts (id), total numeric);\n-- migrate:down\nDROP TABLE invoices;\n",
};
const IDS = [D1, D2].map((f) => f.replace(/\.sql$/, ""));

/** The non-"same" steps of an operation, as "op resource-name", sorted. */
function steps(events: EngineEvent[]): string[] {
    const out: string[] = [];
    for (const e of events) {
        const m = e.resourcePreEvent?.metadata;
        if (!m || m.op === "same" || m.type !== "delta:index:SqlDelta") continue;
        out.push(`${m.op} ${m.urn.split("::").pop()}`);
    }
    return out.sort();
}

async function previewSteps(stack: Stack): Promise<string[]> {
    const events: EngineEvent[] = [];
    await stack.preview({ onEvent: (e) => events.push(e) });
    return steps(events);
}

/** What an up or destroy printed, with its steps. */
async function run(op: (o: { onOutput: (s: string) => void; onEvent: (e: EngineEvent) => void }) => Promise<unknown>): Promise<{ text: string; steps: string[] }> {
    const out = collector();
    const events: EngineEvent[] = [];
    await op({ onOutput: out.onOutput, onEvent: (e) => events.push(e) });
    return { text: out.text(), steps: steps(events) };
}

/** The stack's SqlDelta children by name, with the URN and instance id its state holds. */
async function children(stack: Stack): Promise<Map<string, { urn: string; instanceId?: string }>> {
    const exported = await stack.exportStack();
    const resources = (exported.deployment as { resources?: { urn: string; type: string; outputs?: Record<string, unknown> }[] }).resources ?? [];
    const out = new Map<string, { urn: string; instanceId?: string }>();
    for (const r of resources) {
        if (r.type !== "delta:index:SqlDelta") continue;
        out.set(r.urn.split("::").pop()!, { urn: r.urn, instanceId: r.outputs?.instanceId as string | undefined });
    }
    return out;
}

describe("SqlDeltas ownership: only a history row's owner reverts it (real engine, real PostgreSQL)", function () {
    let backend: TestBackend;
    let pg: Postgres;
    let work: string;
    let dir: string;

    before(async () => {
        backend = testBackend();
        pg = await startPostgres();
        work = fs.mkdtempSync(path.join(os.tmpdir(), "pd-sqlown-it-"));
        dir = path.join(work, "deltas");
        fs.mkdirSync(dir);
        for (const f of [D1, D2]) fs.writeFileSync(path.join(dir, f), FILES[f]);
    });
    after(async () => {
        await pg?.stop();
        backend?.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });

    function options(tenants: string[], extra: Record<string, unknown> = {}): StackOptions {
        return {
            fixture: "sql",
            config: { deltas: dir, tenants, client: { host: pg.host, port: pg.port, user: pg.user }, ...extra },
            secrets: { dbPassword: pg.password },
        };
    }
    function tenantDatabases(...names: string[]): string[] {
        for (const t of names) pg.createDatabase(t);
        return names;
    }
    /** The tenant's own tables and their row counts, e.g. "accounts:2 invoices:1"; "" once reverted. */
    function content(t: string): string {
        const tables = pg.query(t, "SELECT string_agg(table_name, ' ' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'delta_history'");
        return tables
            .split(" ")
            .filter(Boolean)
            .map((name) => `${name}:${pg.query(t, `SELECT count(*) FROM ${name}`)}`)
            .join(" ");
    }
    /** Rows a user added after the deltas ran: what the bug dropped. */
    function addCustomerRows(t: string): void {
        pg.query(t, "INSERT INTO accounts (name) VALUES ('customer'); INSERT INTO invoices (account, total) VALUES (2, 42);");
    }
    const owners = (t: string) =>
        pg.query(t, "SELECT string_agg(id || ' ' || coalesce(owner_stack, '-') || ' ' || coalesce(owner_urn, '-') || ' ' || coalesce(owner_instance, '-'), E'\\n' ORDER BY id) FROM delta_history");
    /** The history rows as they must read when `stack`'s children named `<component>-<tenant>-<delta>` own them (the plugin records `<project>/<stack>`). */
    async function ownedBy(stack: Stack, component: string, t: string): Promise<string> {
        const kids = await children(stack);
        return IDS.map((id) => {
            const kid = kids.get(`${component}-${t}-${id}`);
            assert.ok(kid?.instanceId, `${component}-${t}-${id} has no instance id in state`);
            assert.match(kid.instanceId, /^[0-9a-f]{16}$/);
            return `${id} ${PROJECT}/${stack.name} ${kid.urn} ${kid.instanceId}`;
        }).join("\n");
    }

    it("a rename without an alias keeps every table and row, the new children own them, and destroy then reverts", async () => {
        const tenants = tenantDatabases("acme", "globex");
        await withStack(backend, options(tenants), async (stack) => {
            await stack.up();
            for (const t of tenants) addCustomerRows(t);
            for (const t of tenants) assert.strictEqual(owners(t), await ownedBy(stack, "db", t));
            const old = await children(stack);

            await setConfig(stack, options(tenants, { name: "db2" }));
            const renamed = await run((o) => stack.up(o));
            const each = (op: string, c: string) => tenants.flatMap((t) => IDS.map((id) => `${op} ${c}-${t}-${id}`));
            assert.deepStrictEqual(renamed.steps, [...each("create", "db2"), ...each("delete", "db")].sort());
            for (const t of tenants) {
                assert.strictEqual(content(t), "accounts:2 invoices:1", `tenant ${t} lost data`);
                assert.strictEqual(owners(t), await ownedBy(stack, "db2", t));
            }
            const acmeOld = old.get(`db-acme-${IDS[0]}`)!;
            assert.ok(
                renamed.text.includes(
                    `db2: tenant acme already has ${IDS[0]} recorded with the same checksum; adopted it without running it; took it over from ${PROJECT}/${stack.name} ${acmeOld.urn} (instance ${acmeOld.instanceId})`,
                ),
                renamed.text,
            );
            const acmeNew = (await children(stack)).get(`db2-acme-${IDS[0]}`)!;
            assert.ok(renamed.text.includes(`db: tenant acme: delta ${IDS[0]} is owned by ${PROJECT}/${stack.name} ${acmeNew.urn} (instance ${acmeNew.instanceId}); left applied`), renamed.text);
            assert.deepStrictEqual(await previewSteps(stack), []);

            // A rename with an alias is no change at all; the rows keep the old URN until the next write records the new one.
            await setConfig(stack, options(tenants, { name: "db3", aliases: [{ name: "db2" }] }));
            assert.deepStrictEqual(await previewSteps(stack), []);
            const before = owners("acme");
            await stack.up();
            assert.strictEqual(owners("acme"), before);
            await setConfig(stack, options(tenants, { name: "db3", aliases: [{ name: "db2" }], allowOutOfOrder: true }));
            const written = await run((o) => stack.up(o));
            assert.deepStrictEqual(written.steps, tenants.flatMap((t) => IDS.map((id) => `update db3-${t}-${id}`)).sort());
            const kids = await children(stack);
            assert.strictEqual(kids.get(`db3-acme-${IDS[0]}`)!.instanceId, acmeNew.instanceId, "an update keeps the instance id");
            for (const t of tenants) assert.strictEqual(owners(t), await ownedBy(stack, "db3", t));
            assert.match(owners("acme"), /::db3-acme-0001_accounts /);

            await stack.destroy();
            for (const t of tenants) {
                assert.strictEqual(content(t), "");
                assert.strictEqual(pg.query(t, "SELECT count(*) FROM delta_history"), "0");
            }
        });
    });

    it("up --replace of one child: the replacement adopts, the replaced one leaves the delta applied", async () => {
        const [t] = tenantDatabases("initech");
        await withStack(backend, options([t]), async (stack) => {
            await stack.up();
            addCustomerRows(t);
            const before = (await children(stack)).get(`db-${t}-${IDS[0]}`)!;
            const replaced = await run((o) => stack.up({ ...o, replace: [before.urn] }));
            assert.deepStrictEqual(replaced.steps, [`create-replacement db-${t}-${IDS[0]}`, `delete-replaced db-${t}-${IDS[0]}`, `replace db-${t}-${IDS[0]}`]);
            const after = (await children(stack)).get(`db-${t}-${IDS[0]}`)!;
            assert.notStrictEqual(after.instanceId, before.instanceId);
            assert.strictEqual(content(t), "accounts:2 invoices:1");
            assert.strictEqual(owners(t), await ownedBy(stack, "db", t));
            assert.ok(replaced.text.includes(`db: tenant ${t}: delta ${IDS[0]} is owned by ${PROJECT}/${stack.name} ${after.urn} (instance ${after.instanceId}); left applied`), replaced.text);
            await stack.destroy();
            assert.strictEqual(content(t), "");
        });
    });

    it("two stacks on one tenant: the second adopts and owns; destroying the first leaves everything; destroying the second reverts", async () => {
        const [t] = tenantDatabases("umbrella");
        const a = await newStack(backend, options([t]));
        const b = await newStack(backend, options([t]));
        try {
            await a.up();
            addCustomerRows(t);
            const adopted = await run((o) => b.up(o));
            assert.deepStrictEqual(adopted.steps, IDS.map((id) => `create db-${t}-${id}`));
            assert.strictEqual(owners(t), await ownedBy(b, "db", t));
            const aUrn = (await children(a)).get(`db-${t}-${IDS[1]}`)!.urn;
            assert.match(adopted.text, new RegExp(`took it over from ${PROJECT}/${a.name} ${aUrn.replace(/[$.*+?^()|[\]\\]/g, "\\$&")} \\(instance [0-9a-f]{16}\\)`));

            const destroyedA = await run((o) => a.destroy(o));
            assert.deepStrictEqual(destroyedA.steps, IDS.map((id) => `delete db-${t}-${id}`));
            assert.strictEqual(content(t), "accounts:2 invoices:1");
            assert.strictEqual(owners(t), await ownedBy(b, "db", t));
            assert.ok(destroyedA.text.includes(`db: tenant ${t}: delta ${IDS[1]} is owned by ${PROJECT}/${b.name} `), destroyedA.text);

            await b.destroy();
            assert.strictEqual(content(t), "");
            assert.strictEqual(pg.query(t, "SELECT count(*) FROM delta_history"), "0");
        } finally {
            for (const s of [a, b]) {
                await s.destroy().catch(() => undefined);
                await s.workspace.removeStack(s.name, { force: true }).catch(() => undefined);
            }
        }
    });

    it("a history table written by 0.1 is converted on first contact; its unowned row is adopted and taken over", async () => {
        const [t] = tenantDatabases("hooli");
        // As 0.1 left it: the table without owner columns, D1 applied and recorded.
        pg.query(
            t,
            "SET ROLE app; CREATE TABLE delta_history (id text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL); " +
                "CREATE TABLE accounts (id serial PRIMARY KEY, name text NOT NULL); INSERT INTO accounts (name) VALUES ('seed'); " +
                `INSERT INTO delta_history (id, checksum, applied_by) VALUES ('${IDS[0]}', '${parseDelta(D1, FILES[D1]).checksum}', 'pulumi-delta ${PROJECT}/old db');`,
        );
        const columns = () => pg.query(t, "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'delta_history'");
        assert.strictEqual(columns(), "id,checksum,applied_at,applied_by");
        await withStack(backend, options([t]), async (stack) => {
            const up = await run((o) => stack.up(o));
            assert.strictEqual(columns(), "id,checksum,applied_at,applied_by,owner_stack,owner_urn,owner_instance");
            assert.ok(up.text.includes(`db: tenant ${t} already has ${IDS[0]} recorded with the same checksum; adopted it without running it; it had no owner (written by pulumi-delta 0.1 or by hand)`), up.text);
            assert.strictEqual(owners(t), await ownedBy(stack, "db", t));
            assert.strictEqual(pg.query(t, "SELECT string_agg(id || ' ' || applied_by, ',' ORDER BY id) FROM delta_history"), `${IDS[0]} pulumi-delta ${PROJECT}/old db,${IDS[1]} pulumi-delta ${PROJECT}/${stack.name} db`);
            addCustomerRows(t);
            assert.strictEqual(content(t), "accounts:2 invoices:1");
            await stack.destroy();
            assert.strictEqual(content(t), "");
        });
    });

    it("state from 0.1 (no instance ids) owns the unowned rows: its destroy reverts them, and an update claims them", async () => {
        const [t] = tenantDatabases("stark");
        /** Makes state and rows what 0.1 left: no instanceId or owner inputs in state, no owner in the rows. */
        async function as01(stack: Stack): Promise<void> {
            const exported = await stack.exportStack();
            const resources = (exported.deployment as { resources: { type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[] }).resources;
            for (const r of resources.filter((x) => x.type === "delta:index:SqlDelta")) {
                for (const k of ["instanceId", "ownerStack", "ownerUrn"]) {
                    delete r.outputs![k];
                    delete r.inputs![k];
                }
            }
            await stack.importStack(exported);
            pg.query(t, "UPDATE delta_history SET owner_stack = NULL, owner_urn = NULL, owner_instance = NULL;");
            assert.strictEqual(owners(t), IDS.map((id) => `${id} - - -`).join("\n"));
            assert.strictEqual((await children(stack)).get(`db-${t}-${IDS[0]}`)!.instanceId, undefined);
        }
        await withStack(backend, options([t]), async (stack) => {
            await stack.up();
            await as01(stack);
            // Upgrading alone is no change.
            assert.deepStrictEqual(await previewSteps(stack), []);
            await stack.destroy();
            assert.strictEqual(content(t), "");
            assert.strictEqual(pg.query(t, "SELECT count(*) FROM delta_history"), "0");

            await stack.up();
            await as01(stack);
            await setConfig(stack, options([t], { allowOutOfOrder: true }));
            const updated = await run((o) => stack.up(o));
            assert.deepStrictEqual(updated.steps, IDS.map((id) => `update db-${t}-${id}`));
            assert.strictEqual(owners(t), await ownedBy(stack, "db", t));
            addCustomerRows(t);
            await stack.destroy();
            assert.strictEqual(content(t), "");
        });
    });
});
