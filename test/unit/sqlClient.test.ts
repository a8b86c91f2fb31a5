import * as assert from "assert";
import { clientProblems, pgpassLine, psqlCommand, sqliteCommand } from "../../sdk/sql/client";
import { parseClientError, statementAt } from "../../sdk/sql/clientErrors";
import { ownerLine } from "../../sdk/sql/owner";
import { postgresApply, postgresClaim, postgresRevert } from "../../sdk/sql/postgresScripts";
import { sqliteAdopt, sqliteApply, sqliteRevert } from "../../sdk/sql/sqliteScripts";

const OWNER = { stack: "org/proj/dev", urn: "urn:pulumi:dev::proj::x$y::db-acme-0001_a", instance: "00ff" };

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
    const prelude = (table: string, quoted: string) => [
        `SELECT pg_advisory_xact_lock(hashtext('pulumi-delta:${table}')) AS pd_lock \\gset`,
        "SET LOCAL client_min_messages = warning;",
        `CREATE TABLE IF NOT EXISTS ${quoted} (id text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL, owner_stack text, owner_urn text, owner_instance text);`,
        `SELECT count(*) < 3 AS pd_convert FROM pg_attribute WHERE attrelid = '${quoted}'::regclass AND attname IN ('owner_stack', 'owner_urn', 'owner_instance') AND NOT attisdropped \\gset`,
        "\\if :pd_convert",
        `ALTER TABLE ${quoted} ADD COLUMN IF NOT EXISTS owner_stack text, ADD COLUMN IF NOT EXISTS owner_urn text, ADD COLUMN IF NOT EXISTS owner_instance text;`,
        "\\endif",
        "RESET client_min_messages;",
    ];
    const setOwner = "owner_stack = 'org/proj/dev', owner_urn = 'urn:pulumi:dev::proj::x$y::db-acme-0001_a', owner_instance = '00ff'";

    it("postgres apply: lock, table (converted from 0.1 if needed), guard, adopt-and-take-over or run, row", () => {
        const s = postgresApply({ historyTable: "ops.delta_history", id: "0001_a", checksum: "sha256:c", up: "SELECT 1", appliedBy: "me", owner: OWNER, statementTimeout: 2.5 });
        assert.strictEqual(
            s.text,
            [
                ...prelude("ops.delta_history", '"ops"."delta_history"'),
                "SET LOCAL statement_timeout = '2500ms';",
                `DO $pd$DECLARE c text; BEGIN SELECT checksum INTO c FROM "ops"."delta_history" WHERE id = '0001_a'; IF c IS NOT NULL AND c <> 'sha256:c' THEN RAISE EXCEPTION 'pulumi-delta:recorded-checksum %', c; END IF; END$pd$;`,
                `SELECT EXISTS (SELECT 1 FROM "ops"."delta_history" WHERE id = '0001_a') AS pd_adopt \\gset`,
                "\\if :pd_adopt",
                `SELECT 'pulumi-delta:owner ' || json_build_array(owner_stack, owner_urn, owner_instance)::text FROM "ops"."delta_history" WHERE id = '0001_a';`,
                `UPDATE "ops"."delta_history" SET ${setOwner} WHERE id = '0001_a';`,
                "\\echo pulumi-delta:adopted",
                "\\else",
                "SELECT 1",
                ";",
                `INSERT INTO "ops"."delta_history" (id, checksum, applied_by, owner_stack, owner_urn, owner_instance) VALUES ('0001_a', 'sha256:c', 'me', 'org/proj/dev', 'urn:pulumi:dev::proj::x$y::db-acme-0001_a', '00ff');`,
                "\\echo pulumi-delta:applied",
                "\\endif",
                `SELECT 'pulumi-delta:row ' || checksum || ' ' || to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || ' ' || id FROM "ops"."delta_history" WHERE id = '0001_a';`,
                "",
            ].join("\n"),
        );
        assert.strictEqual(s.partStartLine, 17);
    });
    it("postgres revert: under the lock, the down part runs only for the row's owner", () => {
        const s = postgresRevert({ historyTable: "h", id: "0001_a", checksum: "sha256:c", down: "DROP TABLE t;", instance: "00ff" });
        assert.strictEqual(
            s.text,
            [
                ...prelude("h", '"h"'),
                `SELECT EXISTS (SELECT 1 FROM "h" WHERE id = '0001_a') AS pd_present \\gset`,
                "\\if :pd_present",
                `SELECT 'pulumi-delta:owner ' || json_build_array(owner_stack, owner_urn, owner_instance)::text FROM "h" WHERE id = '0001_a';`,
                `SELECT owner_instance IS NOT DISTINCT FROM '00ff' AS pd_mine FROM "h" WHERE id = '0001_a' \\gset`,
                "\\if :pd_mine",
                `DO $pd$DECLARE c text; BEGIN SELECT checksum INTO c FROM "h" WHERE id = '0001_a'; IF c IS NOT NULL AND c <> 'sha256:c' THEN RAISE EXCEPTION 'pulumi-delta:recorded-checksum %', c; END IF; END$pd$;`,
                "DROP TABLE t;",
                ";",
                `DELETE FROM "h" WHERE id = '0001_a';`,
                "\\echo pulumi-delta:reverted",
                "\\else",
                "\\echo pulumi-delta:kept",
                "\\endif",
                "\\else",
                "\\echo pulumi-delta:absent",
                "\\endif",
                "",
            ].join("\n"),
        );
        assert.strictEqual(s.partStartLine, 15);
        // State from 0.1 (no instance id) owns the rows 0.1 left unowned.
        const legacy = postgresRevert({ historyTable: "h", id: "0001_a", checksum: "sha256:c", down: "DROP TABLE t;", instance: undefined });
        assert.ok(legacy.text.includes(`SELECT owner_instance IS NULL AS pd_mine FROM "h" WHERE id = '0001_a' \\gset\n`), legacy.text);
    });
    it("postgres claim: the owner's own row, or an unowned one when asked", () => {
        const tail = (claimUnowned: boolean) => postgresClaim({ historyTable: "h", id: "0001_a", owner: OWNER, claimUnowned }).text.split("\n").slice(8);
        const read = `SELECT 'pulumi-delta:owner ' || json_build_array(owner_stack, owner_urn, owner_instance)::text FROM "h" WHERE id = '0001_a';`;
        assert.deepStrictEqual(tail(false), [`UPDATE "h" SET ${setOwner} WHERE id = '0001_a' AND owner_instance IS NOT DISTINCT FROM '00ff';`, read, ""]);
        assert.deepStrictEqual(tail(true), [`UPDATE "h" SET ${setOwner} WHERE id = '0001_a' AND (owner_instance IS NOT DISTINCT FROM '00ff' OR owner_instance IS NULL);`, read, ""]);
    });
    it("quotes ids as literals and picks a dollar tag the id does not hold", () => {
        const s = postgresRevert({ historyTable: "h", id: "x'$pd$", checksum: "sha256:c", down: "DROP TABLE t;", instance: "00ff" });
        assert.ok(s.text.includes(`DO $pd0$DECLARE c text; BEGIN SELECT checksum INTO c FROM "h" WHERE id = 'x''$pd$';`), s.text);
        assert.ok(s.text.includes(`DELETE FROM "h" WHERE id = 'x''$pd$';`));
    });
    it("sqlite apply runs inside BEGIN IMMEDIATE and adds only the owner columns a 0.1 table lacks", () => {
        const s = sqliteApply({ historyTable: "h", id: "1_a", checksum: "sha256:c", up: "CREATE TABLE t (id int);", appliedBy: "me", owner: OWNER }, ["owner_urn", "owner_instance"]);
        const lines = s.text.split("\n");
        assert.deepStrictEqual(lines.slice(0, 1), ["BEGIN IMMEDIATE;"]);
        assert.deepStrictEqual(lines.slice(2, 4), ['ALTER TABLE "h" ADD COLUMN owner_urn TEXT;', 'ALTER TABLE "h" ADD COLUMN owner_instance TEXT;']);
        assert.strictEqual(lines[s.partStartLine - 1], "CREATE TABLE t (id int);");
        assert.ok(s.text.includes(`INSERT INTO "h" (id, checksum, applied_by, owner_stack, owner_urn, owner_instance) VALUES ('1_a', 'sha256:c', 'me', 'org/proj/dev', `), s.text);
        assert.ok(s.text.endsWith("COMMIT;\n"));
        assert.strictEqual(sqliteApply({ historyTable: "h", id: "1_a", checksum: "sha256:c", up: "SELECT 1;", appliedBy: "me", owner: OWNER }, []).text.includes("ALTER"), false);
    });
    it("sqlite adopt and revert act only on the row as the caller read it (checksum and owner), or fail and roll back", () => {
        const adopt = sqliteAdopt({ historyTable: "h", id: "1_a", checksum: "sha256:c", up: "", appliedBy: "me", owner: OWNER }, "0a0b", []);
        assert.ok(adopt.text.includes(`UPDATE "h" SET ${setOwner} WHERE id = '1_a' AND checksum = 'sha256:c' AND owner_instance IS '0a0b';\n`), adopt.text);
        assert.ok(adopt.text.includes("SELECT CASE WHEN changes() = 1 THEN 1 ELSE json_extract('{}', 'pulumi-delta:history-row-changed') END;"), adopt.text);
        const revert = sqliteRevert({ historyTable: "h", id: "1_a", checksum: "sha256:c", down: "DROP TABLE t;", instance: undefined }, []);
        assert.ok(revert.text.includes(`DELETE FROM "h" WHERE id = '1_a' AND checksum = 'sha256:c' AND owner_instance IS NULL;\n`), revert.text);
    });
});

describe("sql/owner: the owner line", () => {
    const cases: { name: string; stdout: string; want: ReturnType<typeof ownerLine> }[] = [
        { name: "a full owner", stdout: 'x\npulumi-delta:owner ["o/p/s", "urn:pulumi:s::p::t::db-a b", "00ff"]\ny', want: { stack: "o/p/s", urn: "urn:pulumi:s::p::t::db-a b", instance: "00ff" } },
        { name: "a 0.1 row (sqlite's spacing)", stdout: "pulumi-delta:owner [null,null,null]", want: { stack: null, urn: null, instance: null } },
        { name: "no row", stdout: "pulumi-delta:absent\n", want: undefined },
    ];
    for (const c of cases) it(c.name, () => assert.deepStrictEqual(ownerLine(c.stdout), c.want));
});
