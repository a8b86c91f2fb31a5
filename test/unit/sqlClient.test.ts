import * as assert from "assert";
import { clientProblems, pgpassLine, psqlCommand, sqliteCommand } from "../../sdk/sql/client";
import { parseClientError, statementAt } from "../../sdk/sql/clientErrors";
import { postgresApply, postgresRevert } from "../../sdk/sql/postgresScripts";
import { sqliteApply } from "../../sdk/sql/sqliteScripts";

describe("sql/client: command lines", () => {
    it("psql: every value one quoted word, password only as a file path", () => {
        assert.strictEqual(
            psqlCommand({ host: "db.internal", port: 6432, user: "app", extraArgs: ["--set=x=a b"] }, "acme", { singleTransaction: true, passFile: "/home/u/.pulumi-delta-pgpass-01" }),
            "env LC_MESSAGES=C PGAPPNAME=pulumi-delta PGPASSFILE=/home/u/.pulumi-delta-pgpass-01 psql -X -q -A -t -w -v ON_ERROR_STOP=1 --single-transaction -h db.internal -p 6432 -U app -d acme '--set=x=a b' -f -",
        );
        assert.strictEqual(psqlCommand({}, "acme", { singleTransaction: false }), "env LC_MESSAGES=C PGAPPNAME=pulumi-delta psql -X -q -A -t -w -v ON_ERROR_STOP=1 -d acme -f -");
    });
    it("sqlite3: opens the file read-write without creating it", () => {
        assert.strictEqual(sqliteCommand({}, "/srv/db/acme.db", { bail: true }), "env LC_ALL=C sqlite3 -batch -bail 'file:/srv/db/acme.db?mode=rw'");
    });
    it("pgpass escapes : and \\", () => {
        assert.strictEqual(pgpassLine("a:b\\c"), "*:*:*:*:a\\:b\\\\c\n");
    });
    it("refuses bad client inputs, all at once", () => {
        assert.deepStrictEqual(clientProblems({ host: "db; rm -rf /", port: 0, user: "a b", password: "x\ny", command: "psql -c" }, "postgres"), [
            'client.host must be a host name, IP address or socket folder, got "db; rm -rf /"',
            "client.port must be a TCP port between 1 and 65535, got 0",
            'client.user must be a role name of letters, digits, "_", ".", "@" or "-", got "a b"',
            "client.password must be a non-empty string on one line",
            'client.command must be a program name or path such as "/usr/bin/psql", got "psql -c"',
        ]);
        assert.deepStrictEqual(clientProblems({ host: "x" }, "sqlite"), ['client.host does not apply to engine "sqlite" (a file on the host); remove it']);
    });
});

describe("sql/clientErrors", () => {
    const cases: { name: string; stderr: string; want: ReturnType<typeof parseClientError> }[] = [
        {
            name: "psql error with LINE context",
            stderr: 'psql:<stdin>:12: ERROR:  column "nope" does not exist\nLINE 1: SELECT nope;\n               ^\n',
            want: { text: 'ERROR:  column "nope" does not exist\nLINE 1: SELECT nope;\n               ^', scriptLine: 12 },
        },
        {
            name: "our recorded-checksum guard",
            stderr: "psql:<stdin>:5: ERROR:  pulumi-delta:recorded-checksum sha256:abc\nCONTEXT:  PL/pgSQL function inline_code_block line 1 at RAISE\n",
            want: { text: "ERROR:  pulumi-delta:recorded-checksum sha256:abc\nCONTEXT:  PL/pgSQL function inline_code_block line 1 at RAISE", scriptLine: 5, recordedChecksum: "sha256:abc" },
        },
        { name: "sqlite3 parse error", stderr: 'Parse error near line 4: near "SELEC": syntax error\n  SELEC 1;\n  ^--- error here\n', want: { text: 'near "SELEC": syntax error\n  SELEC 1;\n  ^--- error here', scriptLine: 4 } },
        { name: "sqlite3 open error", stderr: 'Error: unable to open database "file:/x.db?mode=rw": unable to open database file\n', want: { text: 'unable to open database "file:/x.db?mode=rw": unable to open database file' } },
        { name: "connection failure is not parsed", stderr: 'psql: error: connection to server at "127.0.0.1", port 1 failed: Connection refused\n', want: undefined },
    ];
    for (const c of cases) it(c.name, () => assert.deepStrictEqual(parseClientError(c.stderr), c.want));

    it("finds the statement holding a line", () => {
        const sql = "-- first\nCREATE TABLE a (id int);\nALTER TABLE a\n  ADD COLUMN b nope;\nSELECT 1";
        assert.deepStrictEqual(statementAt(sql, 4), { line: 3, text: "ALTER TABLE a\n  ADD COLUMN b nope;" });
        assert.deepStrictEqual(statementAt(sql, 2), { line: 2, text: "CREATE TABLE a (id int);" });
        assert.strictEqual(statementAt("-- nothing", 1), undefined);
    });
});

describe("sql scripts", () => {
    it("postgres apply: lock, table, guard, adopt-or-run, row", () => {
        const s = postgresApply({ historyTable: "ops.delta_history", id: "0001_a", checksum: "sha256:c", up: "SELECT 1", appliedBy: "me", statementTimeout: 2.5 });
        assert.strictEqual(
            s.text,
            [
                "SELECT pg_advisory_xact_lock(hashtext('pulumi-delta:ops.delta_history')) AS pd_lock \\gset",
                "SET LOCAL client_min_messages = warning;",
                'CREATE TABLE IF NOT EXISTS "ops"."delta_history" (id text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL);',
                "RESET client_min_messages;",
                "SET LOCAL statement_timeout = '2500ms';",
                `DO $pd$DECLARE c text; BEGIN SELECT checksum INTO c FROM "ops"."delta_history" WHERE id = '0001_a'; IF c IS NOT NULL AND c <> 'sha256:c' THEN RAISE EXCEPTION 'pulumi-delta:recorded-checksum %', c; END IF; END$pd$;`,
                `SELECT EXISTS (SELECT 1 FROM "ops"."delta_history" WHERE id = '0001_a') AS pd_adopt \\gset`,
                "\\if :pd_adopt",
                "\\echo pulumi-delta:adopted",
                "\\else",
                "SELECT 1",
                ";",
                `INSERT INTO "ops"."delta_history" (id, checksum, applied_by) VALUES ('0001_a', 'sha256:c', 'me');`,
                "\\echo pulumi-delta:applied",
                "\\endif",
                `SELECT 'pulumi-delta:row ' || checksum || ' ' || to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || ' ' || id FROM "ops"."delta_history" WHERE id = '0001_a';`,
                "",
            ].join("\n"),
        );
        assert.strictEqual(s.partStartLine, 11);
    });
    it("quotes ids as literals and picks a dollar tag the id does not hold", () => {
        const s = postgresRevert({ historyTable: "h", id: "x'$pd$", checksum: "sha256:c", down: "DROP TABLE t;" });
        assert.ok(s.text.includes(`DO $pd0$DECLARE c text; BEGIN SELECT checksum INTO c FROM "h" WHERE id = 'x''$pd$';`), s.text);
        assert.ok(s.text.includes(`DELETE FROM "h" WHERE id = 'x''$pd$';`));
    });
    it("sqlite apply runs inside BEGIN IMMEDIATE", () => {
        const s = sqliteApply({ historyTable: "h", id: "1_a", checksum: "sha256:c", up: "CREATE TABLE t (id int);", appliedBy: "me" });
        assert.deepStrictEqual(s.text.split("\n").slice(0, 1), ["BEGIN IMMEDIATE;"]);
        assert.strictEqual(s.text.split("\n")[s.partStartLine - 1], "CREATE TABLE t (id int);");
        assert.ok(s.text.endsWith("COMMIT;\n"));
    });
});
