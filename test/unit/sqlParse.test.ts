import * as assert from "assert";
import { checksumOf, normalizeSql } from "../../sdk/sql/normalize";
import { parseDelta } from "../../sdk/sql/parse";
import { parseDeltas } from "../../sdk/sql/load";

const SEED = [
    "-- delta_20250315_add_last_login.sql",
    "ALTER TABLE users ADD COLUMN last_login TIMESTAMP;",
    "-- Reversible delta",
    "-- ALTER TABLE users DROP COLUMN last_login;",
    "",
].join("\n");

describe("sql/parse: formats", () => {
    const cases: { name: string; file: string; text: string; format: string; up: string; down?: string; version: bigint }[] = [
        {
            name: "seed with a down part",
            file: "delta_20250315_add_last_login.sql",
            text: SEED,
            format: "seed",
            up: "-- delta_20250315_add_last_login.sql\nALTER TABLE users ADD COLUMN last_login TIMESTAMP;",
            down: "ALTER TABLE users DROP COLUMN last_login;",
            version: 20250315n,
        },
        {
            name: "seed without a marker is irreversible",
            file: "0001_users.sql",
            text: "CREATE TABLE users (id int);\n",
            format: "seed",
            up: "CREATE TABLE users (id int);",
            version: 1n,
        },
        {
            name: "seed down keeps commented comments and blank lines inside",
            file: "0002_x.sql",
            text: "CREATE TABLE a (id int);\n-- reversible delta\n-- -- drop it\n--DROP TABLE a;\n\n--\n",
            format: "seed",
            up: "CREATE TABLE a (id int);",
            down: "-- drop it\nDROP TABLE a;",
            version: 2n,
        },
        {
            name: "dbmate",
            file: "20250401093000_add_plan.sql",
            text: "-- migrate:up\nALTER TABLE users ADD COLUMN plan text;\n\n-- migrate:down\nALTER TABLE users DROP COLUMN plan;\n",
            format: "dbmate",
            up: "ALTER TABLE users ADD COLUMN plan text;",
            down: "ALTER TABLE users DROP COLUMN plan;",
            version: 20250401093000n,
        },
        {
            name: "dbmate with an empty down part is irreversible",
            file: "20250402_x.sql",
            text: "-- header comment\n-- migrate:up\nINSERT INTO t VALUES (1);\n-- migrate:down\n-- nothing to undo\n",
            format: "dbmate",
            up: "INSERT INTO t VALUES (1);",
            version: 20250402n,
        },
        {
            name: "goose with StatementBegin/End",
            file: "00003_fn.sql",
            text: [
                "-- +goose Up",
                "-- +goose StatementBegin",
                "CREATE FUNCTION f() RETURNS int AS $$",
                "BEGIN RETURN 1; END;",
                "$$ LANGUAGE plpgsql;",
                "-- +goose StatementEnd",
                "",
                "-- +goose Down",
                "DROP FUNCTION f();",
            ].join("\r\n"),
            format: "goose",
            up: "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN RETURN 1; END;\n$$ LANGUAGE plpgsql;",
            down: "DROP FUNCTION f();",
            version: 3n,
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const d = parseDelta(c.file, c.text);
            assert.strictEqual(d.format, c.format);
            assert.strictEqual(d.up, c.up);
            assert.strictEqual(d.down, c.down);
            assert.strictEqual(d.version, c.version);
            assert.strictEqual(d.id, c.file.replace(/\.sql$/, ""));
            assert.strictEqual(d.checksum, checksumOf(c.up));
        });
    }
});

describe("sql/parse: refusals name the file", () => {
    const cases: { name: string; file: string; text: string; error: string }[] = [
        {
            name: "empty up part (seed)",
            file: "0001_a.sql",
            text: "-- only a comment\n-- Reversible delta\n-- DROP TABLE a;\n",
            error: "0001_a.sql: the up part is empty; write the statements that apply the delta",
        },
        {
            name: "empty up part (dbmate)",
            file: "0001_a.sql",
            text: "-- migrate:up\n\n-- migrate:down\nDROP TABLE a;\n",
            error: '0001_a.sql: the up part is empty; write the statements that apply the delta below "-- migrate:up"',
        },
        {
            name: "empty file",
            file: "0001_a.sql",
            text: "",
            error: "0001_a.sql: the up part is empty; write the statements that apply the delta",
        },
        {
            name: "two formats mixed",
            file: "0002_b.sql",
            text: "-- migrate:up\nCREATE TABLE b (id int);\n-- +goose Down\nDROP TABLE b;\n",
            error: '0002_b.sql: mixes the dbmate format (line 1: "-- migrate:up") and the goose format (line 3: "-- +goose Down"); write each delta in one format',
        },
        {
            name: "seed marker mixed with dbmate",
            file: "0002_b.sql",
            text: "CREATE TABLE b (id int);\n-- Reversible delta\n-- migrate:down\n",
            error: '0002_b.sql: mixes the seed format (line 2: "-- Reversible delta") and the dbmate format (line 3: "-- migrate:down"); write each delta in one format',
        },
        {
            name: "CREATE INDEX CONCURRENTLY",
            file: "0003_idx.sql",
            text: "-- migrate:up\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n-- migrate:down\nDROP INDEX users_email;\n",
            error: "0003_idx.sql: line 2 (up part) runs CREATE INDEX CONCURRENTLY, which cannot run inside a transaction; SqlDeltas runs each delta and its history row in one transaction",
        },
        {
            name: "DROP INDEX CONCURRENTLY in a seed down part",
            file: "0003_idx.sql",
            text: "CREATE INDEX users_email ON users (email);\n-- Reversible delta\n-- DROP INDEX\n--   CONCURRENTLY users_email;\n",
            error: "0003_idx.sql: line 3 (down part) runs DROP INDEX CONCURRENTLY, which cannot run inside a transaction; SqlDeltas runs each delta and its history row in one transaction",
        },
        {
            name: "goose NO TRANSACTION",
            file: "00004_x.sql",
            text: "-- +goose NO TRANSACTION\n-- +goose Up\nVACUUM users;\n",
            error: [
                '00004_x.sql: line 1 "-- +goose NO TRANSACTION" asks to run outside a transaction; SqlDeltas runs every delta in one transaction with its history row, so remove the annotation (and any statement that needs it) or run this change outside SqlDeltas',
                "00004_x.sql: line 3 (up part) runs VACUUM, which cannot run inside a transaction; SqlDeltas runs each delta and its history row in one transaction",
            ].join("\n"),
        },
        {
            name: "dbmate transaction:false",
            file: "20250101_x.sql",
            text: "-- migrate:up transaction:false\nALTER TYPE mood ADD VALUE 'meh';\n",
            error: '20250101_x.sql: line 1 "-- migrate:up transaction:false" asks to run outside a transaction; SqlDeltas runs every delta in one transaction with its history row, so remove "transaction:false" (and any statement that needs it) or run this change outside SqlDeltas',
        },
        {
            name: "explicit COMMIT",
            file: "0005_c.sql",
            text: "CREATE TABLE c (id int);\nCOMMIT;\n",
            error: "0005_c.sql: line 2 (up part) runs COMMIT, which would end the delta's transaction early, so its history row and a failure's rollback would no longer go with it; SqlDeltas runs each delta and its history row in one transaction",
        },
        {
            name: "psql meta-command",
            file: "0006_m.sql",
            text: "CREATE TABLE m (id int);\n\\connect other\n",
            error: "0006_m.sql: line 2 (up part) runs a psql meta-command (a backslash outside quotes), which is not SQL and would be run by the client, outside the delta's transaction; SqlDeltas runs each delta and its history row in one transaction",
        },
        {
            name: "seed down line not commented out",
            file: "0007_s.sql",
            text: "CREATE TABLE s (id int);\n-- Reversible delta\nDROP TABLE s;\n",
            error: '0007_s.sql: line 3 follows "-- Reversible delta" but is not commented out; write the down statements as "-- " comments after the marker, and the up statements above it',
        },
        {
            name: "no version in the name",
            file: "add_users.sql",
            text: "CREATE TABLE users (id int);\n",
            error: "add_users.sql: the file name has no version number; deltas are ordered by the first run of digits in their name, e.g. 0001_create_users.sql or 20250315_add_last_login.sql",
        },
        {
            name: "dbmate down before up",
            file: "0008_d.sql",
            text: "-- migrate:down\nDROP TABLE d;\n-- migrate:up\nCREATE TABLE d (id int);\n",
            error: '0008_d.sql: "-- migrate:down" (line 1) comes before "-- migrate:up" (line 3); put the up part first',
        },
        {
            name: "statements before the dbmate up marker",
            file: "0009_e.sql",
            text: "CREATE TABLE e (id int);\n-- migrate:up\nCREATE TABLE f (id int);\n",
            error: '0009_e.sql: statements appear before "-- migrate:up"; move them below it (only comments may come first)',
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            assert.throws(() => parseDelta(c.file, c.text), (err: Error) => {
                assert.strictEqual(err.name, "DeltaFileError");
                assert.strictEqual(err.message, c.error);
                return true;
            });
        });
    }

    it("keeps statements that only look like transaction control", () => {
        const text = [
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN",
            "  UPDATE b SET n = n + 1;",
            "END;",
            "INSERT INTO notes VALUES ('COMMIT; \\connect x', $tag$ VACUUM; $tag$, E'it\\'s; BEGIN');",
            "/* COMMIT; /* nested */ ROLLBACK; */ SAVEPOINT s; ROLLBACK TO s;",
        ].join("\n");
        assert.strictEqual(parseDelta("0001_t.sql", text).up, text);
    });
});

describe("sql/parse: checksum normalization", () => {
    it("ignores CRLF, trailing spaces and blank edges; keeps comments", () => {
        assert.strictEqual(normalizeSql("\r\n\n  -- why\r\nSELECT 1;   \r\n\t\n"), "  -- why\nSELECT 1;");
        const a = parseDelta("0001_a.sql", "-- migrate:up\n\nSELECT 1;  \n\n-- migrate:down\nSELECT 2;\n");
        const b = parseDelta("0001_a.sql", "-- migrate:up\r\nSELECT 1;\r\n-- migrate:down\r\nSELECT 3;\r\n");
        assert.strictEqual(a.checksum, b.checksum);
        assert.strictEqual(a.checksum, "sha256:" + require("crypto").createHash("sha256").update("SELECT 1;").digest("hex"));
        const c = parseDelta("0001_a.sql", "-- migrate:up\n-- a comment counts\nSELECT 1;\n");
        assert.notStrictEqual(a.checksum, c.checksum);
    });
});

describe("sql/load: order and duplicates", () => {
    it("orders by version as a number, then byte-wise by name", () => {
        const names = ["10_j.sql", "delta_20250315_x.sql", "0002_b.sql", "2_a.sql", "0001_users.sql", "20250401093000_dbmate.sql", "2_B.sql"];
        const got = parseDeltas(names.map((name) => ({ name, text: "SELECT 1;" }))).map((d) => d.id);
        assert.deepStrictEqual(got, ["0001_users", "0002_b", "2_B", "2_a", "10_j", "delta_20250315_x", "20250401093000_dbmate"]);
    });
    it("refuses duplicate ids and reports every bad file at once", () => {
        assert.throws(
            () =>
                parseDeltas([
                    { name: "0001_a.sql", text: "SELECT 1;", shown: "deltas/0001_a.sql" },
                    { name: "0001_a.SQL", text: "SELECT 1;", shown: "deltas/0001_a.SQL" },
                    { name: "0002_b.sql", text: "", shown: "deltas/0002_b.sql" },
                ]),
            {
                name: "DeltaFileError",
                message: [
                    "deltas/0002_b.sql: the up part is empty; write the statements that apply the delta",
                    "deltas/0001_a.sql and deltas/0001_a.SQL both have the id 0001_a; rename one of them",
                ].join("\n"),
            },
        );
    });
});
