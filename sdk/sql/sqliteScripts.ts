import { quoteIdent, quoteLiteral } from "./names";
import { OWNER_COLUMNS, ownedBy, ownerAssignments, ownerValues } from "./owner";
import { ApplyInput, ClaimInput, MARK, part, RevertInput, Script } from "./scriptTypes";

/**
 * The table as this version writes it, then the owner columns a table
 * written by 0.1 lacks (`missing`, from sqliteInspect: SQLite has no
 * `ADD COLUMN IF NOT EXISTS`). Called inside `BEGIN IMMEDIATE`, so a run
 * that raced another conversion fails on the duplicate column and rolls back.
 */
function createTable(table: string, missing: readonly string[]): string[] {
    return [
        `CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (id TEXT PRIMARY KEY NOT NULL, checksum TEXT NOT NULL, ` +
            `applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), applied_by TEXT NOT NULL, ` +
            `${OWNER_COLUMNS.map((c) => `${c} TEXT`).join(", ")});`,
        ...missing.map((c) => `ALTER TABLE ${quoteIdent(table)} ADD COLUMN ${c} TEXT;`),
    ];
}

/** Prints the row's owner columns as one JSON array (NULLs as null), for ownerLine(). */
function ownerQuery(table: string, id: string): string {
    return `SELECT ${quoteLiteral(`${MARK}owner `)} || json_array(${OWNER_COLUMNS.join(", ")}) FROM ${quoteIdent(table)} WHERE id = ${quoteLiteral(id)};`;
}

function rowQuery(table: string, where: string): string {
    return `SELECT ${quoteLiteral(`${MARK}row `)} || checksum || ' ' || applied_at || ' ' || id FROM ${quoteIdent(table)} WHERE ${where};`;
}

/**
 * Makes the run fail (and, with `-bail`, roll back) unless exactly one row
 * changed: a bad JSON path is an error SQLite raises mid-statement, and its
 * message quotes the path, so the runner can tell this failure apart.
 */
function requireOneChange(what: string): string {
    return `SELECT CASE WHEN changes() = 1 THEN 1 ELSE json_extract('{}', ${quoteLiteral(`${MARK}${what}`)}) END;`;
}

/**
 * For `sqlite3 -bail -batch`: the caller has read the history first (SQLite
 * cannot branch), so this runs the up part and inserts the row inside
 * `BEGIN IMMEDIATE`, which holds the database's write lock; a concurrent
 * apply fails on the primary key and rolls back.
 */
export function sqliteApply(d: ApplyInput, missing: readonly string[]): Script {
    const lines = ["BEGIN IMMEDIATE;", ...createTable(d.historyTable, missing)];
    const partStartLine = part(lines, d.up);
    lines.push(
        `INSERT INTO ${quoteIdent(d.historyTable)} (id, checksum, applied_by, ${OWNER_COLUMNS.join(", ")}) ` +
            `VALUES (${quoteLiteral(d.id)}, ${quoteLiteral(d.checksum)}, ${quoteLiteral(d.appliedBy)}, ${ownerValues(d.owner)});`,
        rowQuery(d.historyTable, `id = ${quoteLiteral(d.id)}`),
        "COMMIT;",
    );
    return { text: lines.join("\n") + "\n", partStartLine };
}

/**
 * Takes over a row the caller read with the same checksum and owner
 * `previous`; fails and rolls back if another run changed it in between.
 */
export function sqliteAdopt(d: ApplyInput, previous: string | null, missing: readonly string[]): Script {
    const lines = [
        "BEGIN IMMEDIATE;",
        ...createTable(d.historyTable, missing),
        `UPDATE ${quoteIdent(d.historyTable)} SET ${ownerAssignments(d.owner)} WHERE id = ${quoteLiteral(d.id)} AND checksum = ${quoteLiteral(d.checksum)} ` +
            `AND ${ownedBy(previous ?? undefined, "IS")};`,
        requireOneChange("history-row-changed"),
        rowQuery(d.historyTable, `id = ${quoteLiteral(d.id)}`),
        "COMMIT;",
    ];
    return { text: lines.join("\n") + "\n", partStartLine: 0 };
}

/**
 * Deletes the row first (only with the expected checksum and while it is
 * still `d.instance`'s, as the caller read it), then runs the down part, all
 * in one transaction.
 */
export function sqliteRevert(d: RevertInput, missing: readonly string[]): Script {
    const lines = [
        "BEGIN IMMEDIATE;",
        ...createTable(d.historyTable, missing),
        `DELETE FROM ${quoteIdent(d.historyTable)} WHERE id = ${quoteLiteral(d.id)} AND checksum = ${quoteLiteral(d.checksum)} AND ${ownedBy(d.instance, "IS")};`,
        requireOneChange("history-row-changed"),
    ];
    const partStartLine = d.down === undefined ? 0 : part(lines, d.down);
    lines.push(`SELECT ${quoteLiteral(`${MARK}reverted`)};`, "COMMIT;");
    return { text: lines.join("\n") + "\n", partStartLine };
}

/** Writes `d.owner` into the row the caller read as owned by `current` and found it may take (see ClaimInput). */
export function sqliteClaim(d: ClaimInput, current: string | null, missing: readonly string[]): Script {
    const lines = [
        "BEGIN IMMEDIATE;",
        ...createTable(d.historyTable, missing),
        `UPDATE ${quoteIdent(d.historyTable)} SET ${ownerAssignments(d.owner)} WHERE id = ${quoteLiteral(d.id)} AND ${ownedBy(current ?? undefined, "IS")};`,
        requireOneChange("history-row-changed"),
        "COMMIT;",
    ];
    return { text: lines.join("\n") + "\n", partStartLine: 0 };
}

/**
 * What a write needs to know first, without writing: whether the table
 * exists, its columns, and the row of `id` with its owner. Run without
 * `-bail`, so a missing table (reported first) reads as no rows, and the
 * owner query failing on a 0.1 table (no owner columns, as the column lines
 * show) reads as an unowned row.
 */
export function sqliteInspect(historyTable: string, id: string): Script {
    const [table, row] = sqliteRead(historyTable, [id]).text.trimEnd().split("\n");
    const lines = [table, `SELECT ${quoteLiteral(`${MARK}column `)} || name FROM pragma_table_info(${quoteLiteral(historyTable)});`, row, ownerQuery(historyTable, id)];
    return { text: lines.join("\n") + "\n", partStartLine: 0 };
}

/** Reads history rows without writing; run without `-bail`, so a missing table (reported first) reads as no rows. */
export function sqliteRead(historyTable: string, ids: string[]): Script {
    const lines = [
        `SELECT ${quoteLiteral(`${MARK}table `)} || count(*) FROM sqlite_master WHERE type = 'table' AND name = ${quoteLiteral(historyTable)};`,
        rowQuery(historyTable, ids.length ? `id IN (${ids.map(quoteLiteral).join(", ")})` : "1"),
    ];
    return { text: lines.join("\n") + "\n", partStartLine: 0 };
}
