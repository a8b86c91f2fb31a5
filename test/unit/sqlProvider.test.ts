import * as assert from "assert";
import type { SqlDeltaProviderInputs, SqlDeltaProviderOutputs } from "../../sdk/providers/sqlDeltaInputs";
import * as lifecycle from "../../sdk/providers/sqlDeltaLifecycle";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const NEWS: SqlDeltaProviderInputs = {
    component: "db",
    tenant: "acme",
    database: "acme",
    engine: "postgres",
    deltaId: "0003_c",
    file: "deltas/0003_c.sql",
    format: "dbmate",
    up: "CREATE TABLE c (id int);",
    down: "DROP TABLE c;",
    checksum: "sha256:c1",
    previous: "0002_b",
    historyTable: "delta_history",
    appliedBy: "pulumi-delta p/s db",
    ownerStack: "p/s",
    ownerUrn: "urn:pulumi:s::p::delta:index:SqlDeltas$delta:index:SqlDelta::db-acme-0003_c",
};
const OLDS: SqlDeltaProviderOutputs = { ...NEWS, appliedAt: "2025-01-01T00:00:00.000000Z", outcome: "applied", instanceId: "00112233445566aa" };

describe("providers/sqlDelta: check", () => {
    it("passes good inputs through and skips unknown ones", () => {
        assert.deepStrictEqual(lifecycle.check({}, NEWS), { inputs: NEWS, failures: [] });
        const unknown = { ...NEWS, database: UNKNOWN, client: UNKNOWN as unknown as SqlDeltaProviderInputs["client"] };
        assert.deepStrictEqual(lifecycle.check({}, unknown).failures, []);
    });
    it("refuses an injected tenant name and other bad inputs, each naming the input", () => {
        const bad = { ...NEWS, tenant: "acme; DROP TABLE users", historyTable: "h; x", statementTimeout: -1, client: { host: "a b" } };
        assert.deepStrictEqual(lifecycle.check({}, bad).failures, [
            { property: "tenant", reason: 'tenant must be 1-63 letters, digits, "_" or "-", starting with a letter or digit (it names resources and, by default, the database), got "acme; DROP TABLE users"' },
            { property: "historyTable", reason: 'historyTable must be a table name such as "delta_history" or "ops.delta_history" (letters, digits and "_", at most 63 each), got "h; x"' },
            { property: "client", reason: 'client.host must be a host name, IP address or socket folder, got "a b"' },
            { property: "statementTimeout", reason: "statementTimeout must be a number of seconds above 0, got -1" },
        ]);
    });
    it("refuses a new delta slipped before an applied one, unless allowed", () => {
        const slipped = { ...NEWS, previous: "0002_new" };
        const olds = { ...NEWS, previous: "0001_a" };
        assert.deepStrictEqual(lifecycle.check(olds, slipped).failures, [
            {
                property: "previous",
                reason: "tenant acme: delta 0002_new is new but sorts before 0003_c, which acme already has; rename it to sort after the last applied delta, or set allowOutOfOrder: true to apply it out of order",
            },
        ]);
        assert.deepStrictEqual(lifecycle.check(olds, { ...slipped, allowOutOfOrder: true }).failures, []);
    });
    it("refuses removing a delta while a later one stays", () => {
        assert.deepStrictEqual(lifecycle.check(NEWS, { ...NEWS, previous: "0001_a" }).failures, [
            { property: "previous", reason: "tenant acme: delta 0002_b was removed but 0003_c, applied after it, stays; remove 0003_c too (its down part then runs first), or restore 0002_b" },
        ]);
    });
});

describe("providers/sqlDelta: diff", () => {
    it("no change", () => assert.deepStrictEqual(lifecycle.diff(OLDS, NEWS), { changes: false, replaces: [], deleteBeforeReplace: false }));
    it("an edited down part is recorded, not run", () => assert.deepStrictEqual(lifecycle.diff(OLDS, { ...NEWS, down: "DROP TABLE c CASCADE;" }), { changes: true, replaces: [], deleteBeforeReplace: false }));
    it("a password rotation is recorded", () => assert.deepStrictEqual(lifecycle.diff({ ...OLDS, password: "a" }, { ...NEWS, password: "b" }).changes, true));
    it("a new stack or URN alone (an alias) is no change, and neither is a renamed component", () => {
        const aliased = { ...NEWS, component: "db2", appliedBy: "pulumi-delta p/s db2", ownerStack: "p2/s", ownerUrn: NEWS.ownerUrn.replace("db-acme", "db2-acme") };
        assert.deepStrictEqual(lifecycle.diff(OLDS, aliased), { changes: false, replaces: [], deleteBeforeReplace: false });
    });
    it("state from 0.1 (no instance id, no owner inputs) is no change either", () => {
        const { instanceId: _i, ownerStack: _s, ownerUrn: _u, ...v01 } = OLDS;
        assert.deepStrictEqual(lifecycle.diff(v01 as SqlDeltaProviderOutputs, NEWS), { changes: false, replaces: [], deleteBeforeReplace: false });
    });
    it("another database replaces", () => assert.deepStrictEqual(lifecycle.diff(OLDS, { ...NEWS, database: "acme2" }).replaces, ["database"]));
    it("an edited applied delta is an error naming file, tenant and both checksums", () => {
        assert.throws(() => lifecycle.diff(OLDS, { ...NEWS, checksum: "sha256:c2" }), {
            message: "deltas/0003_c.sql: delta 0003_c is applied to tenant acme with checksum sha256:c1, but the file now has sha256:c2; an applied delta must not change: undo the edit and put the change in a new delta",
        });
    });
});

describe("providers/sqlDelta: update and delete", () => {
    it("update keeps when and how it was applied, and the instance id; with the same owner it touches no host", async () => {
        // The inputs name no connection: a database write would run psql locally against nothing and fail.
        const news = { ...NEWS, down: "x", client: { host: "127.0.0.1", port: 1 } };
        assert.deepStrictEqual(await lifecycle.update(OLDS, news), { outs: { ...news, appliedAt: OLDS.appliedAt, outcome: "applied", instanceId: OLDS.instanceId } });
    });
    it("delete of an irreversible delta is refused without touching a host", async () => {
        const irreversible: SqlDeltaProviderOutputs = { ...OLDS, down: undefined };
        await assert.rejects(lifecycle.remove(irreversible), {
            message:
                "db: delta 0003_c is irreversible (deltas/0003_c.sql has no down part), so it cannot be removed from tenant acme; to forget it without undoing it, restore the file, set allowIrreversible: true, run pulumi up, then remove it again",
        });
    });
});
