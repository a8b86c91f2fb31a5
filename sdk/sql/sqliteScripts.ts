import { quoteIdent, quoteLiteral } from "./names";
import { ApplyInput, MARK, part, RevertInput, Script } from "./scriptTypes";

function createTable(table: string): string {
    return (
        `CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (id TEXT PRIMARY KEY NOT NULL, checksum TEXT NOT NULL, ` +
        `applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), applied_by TEXT NOT NULL);`
    );
}

function rowQuery(table: string, where: string): string {
    return `SELECT ${quoteLiteral(`${MARK}row `)} || checksum || ' ' || applied_at || ' ' || id FROM ${quoteIdent(table)} WHERE ${where};`;
}

/**
 * Makes the run fail (and, with `-bail`, roll back) unless exactly one row
 * changed: json() of a non-JSON text is an error SQLite raises mid-statement.
 */
function requireOneChange(what: string): string {
    return `SELECT CASE WHEN changes() = 1 THEN 1 ELSE json(${quoteLiteral(`${MARK}${what}`)}) END;`;
}

/**
 * For `sqlite3 -bail -batch`: the caller has read the history first (SQLite
 * cannot branch), so this runs the up part and inserts the row inside
 * `BEGIN IMMEDIATE`, which holds the database's write lock; a concurrent
 * apply fails on the primary key and rolls back.
 */
export function sqliteApply(d: ApplyInput): Script {
    const lines = ["BEGIN IMMEDIATE;", createTable(d.historyTable)];
    const partStartLine = part(lines, d.up);
    lines.push(
        `INSERT INTO ${quoteIdent(d.historyTable)} (id, checksum, applied_by) VALUES (${quoteLiteral(d.id)}, ${quoteLiteral(d.checksum)}, ${quoteLiteral(d.appliedBy)});`,
        rowQuery(d.historyTable, `id = ${quoteLiteral(d.id)}`),
        "COMMIT;",
    );
    return { text: lines.join("\n") + "\n", partStartLine };
}

/** Deletes the row first (only with the expected checksum), then runs the down part, all in one transaction. */
export function sqliteRevert(d: RevertInput): Script {
    const lines = [
        "BEGIN IMMEDIATE;",
        createTable(d.historyTable),
        `DELETE FROM ${quoteIdent(d.historyTable)} WHERE id = ${quoteLiteral(d.id)} AND checksum = ${quoteLiteral(d.checksum)};`,
        requireOneChange("history-row-changed"),
    ];
    const partStartLine = d.down === undefined ? 0 : part(lines, d.down);
    lines.push(`SELECT ${quoteLiteral(`${MARK}reverted`)};`, "COMMIT;");
    return { text: lines.join("\n") + "\n", partStartLine };
}

/** Reads history rows without writing; run without `-bail`, so a missing table (reported first) reads as no rows. */
export function sqliteRead(historyTable: string, ids: string[]): Script {
    const lines = [
        `SELECT ${quoteLiteral(`${MARK}table `)} || count(*) FROM sqlite_master WHERE type = 'table' AND name = ${quoteLiteral(historyTable)};`,
        rowQuery(historyTable, ids.length ? `id IN (${ids.map(quoteLiteral).join(", ")})` : "1"),
    ];
    return { text: lines.join("\n") + "\n", partStartLine: 0 };
}
