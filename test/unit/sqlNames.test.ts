import * as assert from "assert";
import { historyTableProblem, quoteIdent, quoteLiteral, resolveTenants, shellQuote } from "../../sdk/sql/names";

describe("sql/names: tenants", () => {
    const ok: { name: string; value: unknown; engine: "postgres" | "sqlite"; dir?: string; want: { name: string; database: string }[] }[] = [
        { name: "plain names", value: ["acme", "globex"], engine: "postgres", want: [{ name: "acme", database: "acme" }, { name: "globex", database: "globex" }] },
        { name: "objects", value: [{ name: "acme", database: "acme_prod" }], engine: "postgres", want: [{ name: "acme", database: "acme_prod" }] },
        { name: "sqlite in databaseDir", value: ["acme"], engine: "sqlite", dir: "/srv/db/", want: [{ name: "acme", database: "/srv/db/acme.db" }] },
        { name: "sqlite absolute", value: [{ name: "acme", database: "/srv/a.sqlite" }], engine: "sqlite", want: [{ name: "acme", database: "/srv/a.sqlite" }] },
    ];
    for (const c of ok) {
        it(c.name, () => assert.deepStrictEqual(resolveTenants(c.value, c.engine, c.dir), { tenants: c.want, problems: [] }));
    }
    const bad: { name: string; value: unknown; engine: "postgres" | "sqlite"; dir?: string; problems: string[] }[] = [
        {
            name: "injection in a name",
            value: ["acme; DROP TABLE users"],
            engine: "postgres",
            problems: ['tenants[0] must be 1-63 letters, digits, "_" or "-", starting with a letter or digit (it names resources and, by default, the database), got "acme; DROP TABLE users"'],
        },
        {
            name: "bad database, duplicate tenant, not a list item",
            value: [{ name: "acme", database: "acme'--" }, "globex", "globex", 7],
            engine: "postgres",
            problems: [
                'tenants[0].database must be a PostgreSQL database name of 1-63 letters, digits, "_", "." or "-", got "acme\'--"',
                "tenants[3] must be a tenant name or { name, database }, got 7",
                'tenants: "globex" is listed twice; list each tenant once',
            ],
        },
        { name: "empty", value: [], engine: "postgres", problems: ['tenants must be a non-empty list such as ["acme", "globex"] or [{ name: "acme", database: "acme_prod" }], got []'] },
        {
            name: "sqlite without a path",
            value: ["acme"],
            engine: "sqlite",
            problems: ['tenants[0]: an SQLite database is a file on the host; give { name: "acme", database: "/path/acme.db" } or set databaseDir'],
        },
        {
            name: "sqlite path escaping",
            value: [{ name: "acme", database: "/srv/../etc/x.db" }],
            engine: "sqlite",
            problems: [
                'tenants[0].database must be an absolute path on the host of letters, digits, "_", ".", "-" and "/" (no ".."), such as "/var/lib/app/acme.db", or a plain name resolved in databaseDir, got "/srv/../etc/x.db"',
            ],
        },
        {
            name: "shared database",
            value: [{ name: "a", database: "x" }, { name: "b", database: "x" }],
            engine: "postgres",
            problems: ['tenants: "a" and "b" share the database "x"; each tenant needs its own'],
        },
    ];
    for (const c of bad) {
        it(`refuses: ${c.name}`, () => assert.deepStrictEqual(resolveTenants(c.value, c.engine, c.dir).problems, c.problems));
    }
});

describe("sql/names: quoting", () => {
    it("history table names", () => {
        assert.strictEqual(historyTableProblem("ops.delta_history", "postgres"), undefined);
        assert.strictEqual(
            historyTableProblem("ops.delta_history", "sqlite"),
            'historyTable must be a table name such as "delta_history" (letters, digits and "_", at most 63 each), got "ops.delta_history"',
        );
        assert.strictEqual(
            historyTableProblem('x"; DROP', "postgres"),
            'historyTable must be a table name such as "delta_history" or "ops.delta_history" (letters, digits and "_", at most 63 each), got "x\\"; DROP"',
        );
    });
    const table: [string, (s: string) => string, string, string][] = [
        ["ident", quoteIdent, "ops.delta_history", '"ops"."delta_history"'],
        ["literal", quoteLiteral, "it's", "'it''s'"],
        ["shell plain", shellQuote, "--dbname=acme", "--dbname=acme"],
        ["shell quoted", shellQuote, "a b'c", "'a b'\\''c'"],
        ["shell empty", shellQuote, "", "''"],
    ];
    for (const [name, f, input, want] of table) it(name, () => assert.strictEqual(f(input), want));
});
