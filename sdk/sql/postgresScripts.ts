import { quoteIdent, quoteLiteral } from "./names";
import { OWNER_COLUMNS, ownedBy, ownerAssignments, ownerValues } from "./owner";
import { ApplyInput, ClaimInput, MARK, part, RevertInput, Script } from "./scriptTypes";

function dollarQuote(body: string): string {
    let tag = "pd";
    for (let i = 0; body.includes(`$${tag}$`); i++) tag = `pd${i}`;
    return `$${tag}$${body}$${tag}$`;
}

/**
 * Preamble: one delta at a time per database and history table, the table
 * itself, and the owner columns a table written by 0.1 lacks. The ALTER runs
 * only when a column is missing: it takes an exclusive lock on the table even
 * when it adds nothing, which would make a refresh wait for a long delta.
 */
function prelude(table: string, statementTimeout?: number): string[] {
    const t = quoteIdent(table);
    const lines = [
        // Advisory locks are scoped to the current database, so this key serializes one tenant.
        `SELECT pg_advisory_xact_lock(hashtext(${quoteLiteral(`pulumi-delta:${table}`)})) AS pd_lock \\gset`,
        "SET LOCAL client_min_messages = warning;",
        `CREATE TABLE IF NOT EXISTS ${t} (id text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL, ` +
            `${OWNER_COLUMNS.map((c) => `${c} text`).join(", ")});`,
        `SELECT count(*) < ${OWNER_COLUMNS.length} AS pd_convert FROM pg_attribute WHERE attrelid = ${quoteLiteral(t)}::regclass ` +
            `AND attname IN (${OWNER_COLUMNS.map(quoteLiteral).join(", ")}) AND NOT attisdropped \\gset`,
        "\\if :pd_convert",
        `ALTER TABLE ${t} ${OWNER_COLUMNS.map((c) => `ADD COLUMN IF NOT EXISTS ${c} text`).join(", ")};`,
        "\\endif",
        "RESET client_min_messages;",
    ];
    if (statementTimeout !== undefined) lines.push(`SET LOCAL statement_timeout = ${quoteLiteral(`${Math.round(statementTimeout * 1000)}ms`)};`);
    return lines;
}

/** Fails the transaction when the delta is recorded under another checksum; the error carries the recorded one. */
function refuseOtherChecksum(table: string, id: string, checksum: string): string {
    const body =
        `DECLARE c text; BEGIN SELECT checksum INTO c FROM ${quoteIdent(table)} WHERE id = ${quoteLiteral(id)}; ` +
        `IF c IS NOT NULL AND c <> ${quoteLiteral(checksum)} THEN RAISE EXCEPTION '${MARK}recorded-checksum %', c; END IF; END`;
    return `DO ${dollarQuote(body)};`;
}

/** Prints the row's owner columns as one JSON array (NULLs as null), for ownerLine(). */
function ownerQuery(table: string, id: string): string {
    return `SELECT ${quoteLiteral(`${MARK}owner `)} || json_build_array(${OWNER_COLUMNS.join(", ")})::text FROM ${quoteIdent(table)} WHERE id = ${quoteLiteral(id)};`;
}

function rowQuery(table: string, where: string): string {
    return (
        `SELECT ${quoteLiteral(`${MARK}row `)} || checksum || ' ' || ` +
        `to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || ' ' || id ` +
        `FROM ${quoteIdent(table)} WHERE ${where};`
    );
}

/**
 * For `psql -X -q -At -v ON_ERROR_STOP=1 --single-transaction -f -`: under a
 * per-tenant advisory lock, adopt the delta when its history row has the
 * same checksum (printing its previous owner, then taking it over), else run
 * the up part and insert the row (the primary key makes a concurrent double
 * apply fail and roll back). Either way the row names `d.owner`.
 */
export function postgresApply(d: ApplyInput): Script {
    const t = quoteIdent(d.historyTable);
    const id = quoteLiteral(d.id);
    const lines = [
        ...prelude(d.historyTable, d.statementTimeout),
        refuseOtherChecksum(d.historyTable, d.id, d.checksum),
        `SELECT EXISTS (SELECT 1 FROM ${t} WHERE id = ${id}) AS pd_adopt \\gset`,
        "\\if :pd_adopt",
        ownerQuery(d.historyTable, d.id),
        `UPDATE ${t} SET ${ownerAssignments(d.owner)} WHERE id = ${id};`,
        `\\echo ${MARK}adopted`,
        "\\else",
    ];
    const partStartLine = part(lines, d.up);
    lines.push(
        `INSERT INTO ${t} (id, checksum, applied_by, ${OWNER_COLUMNS.join(", ")}) VALUES (${id}, ${quoteLiteral(d.checksum)}, ${quoteLiteral(d.appliedBy)}, ${ownerValues(d.owner)});`,
        `\\echo ${MARK}applied`,
        "\\endif",
        rowQuery(d.historyTable, `id = ${id}`),
    );
    return { text: lines.join("\n") + "\n", partStartLine };
}

/**
 * Under the advisory lock, so that no adopt can come between the check and
 * the down part: when the row belongs to `d.instance`, runs the down part
 * and deletes the row; when it belongs to someone else, prints its owner and
 * runs nothing ("kept"); a missing row means nothing to undo.
 */
export function postgresRevert(d: RevertInput): Script {
    const t = quoteIdent(d.historyTable);
    const id = quoteLiteral(d.id);
    const lines = [
        ...prelude(d.historyTable, d.statementTimeout),
        `SELECT EXISTS (SELECT 1 FROM ${t} WHERE id = ${id}) AS pd_present \\gset`,
        "\\if :pd_present",
        ownerQuery(d.historyTable, d.id),
        `SELECT ${ownedBy(d.instance, "IS NOT DISTINCT FROM")} AS pd_mine FROM ${t} WHERE id = ${id} \\gset`,
        "\\if :pd_mine",
        refuseOtherChecksum(d.historyTable, d.id, d.checksum),
    ];
    const partStartLine = d.down === undefined ? 0 : part(lines, d.down);
    lines.push(
        `DELETE FROM ${t} WHERE id = ${id};`,
        `\\echo ${MARK}reverted`,
        "\\else",
        `\\echo ${MARK}kept`,
        "\\endif",
        "\\else",
        `\\echo ${MARK}absent`,
        "\\endif",
    );
    return { text: lines.join("\n") + "\n", partStartLine };
}

/** Writes `d.owner` into a row it may take (see ClaimInput) and prints the row's owner after, if the row exists. */
export function postgresClaim(d: ClaimInput): Script {
    const mine = ownedBy(d.owner.instance, "IS NOT DISTINCT FROM");
    const may = d.claimUnowned ? `(${mine} OR owner_instance IS NULL)` : mine;
    const lines = [
        ...prelude(d.historyTable, d.statementTimeout),
        `UPDATE ${quoteIdent(d.historyTable)} SET ${ownerAssignments(d.owner)} WHERE id = ${quoteLiteral(d.id)} AND ${may};`,
        ownerQuery(d.historyTable, d.id),
    ];
    return { text: lines.join("\n") + "\n", partStartLine: 0 };
}

/** Reads history rows without writing: a missing table reads as no rows. */
export function postgresRead(historyTable: string, ids: string[]): Script {
    const lines = [
        `SELECT to_regclass(${quoteLiteral(quoteIdent(historyTable))}) IS NOT NULL AS pd_has_table \\gset`,
        "\\if :pd_has_table",
        rowQuery(historyTable, ids.length ? `id IN (${ids.map(quoteLiteral).join(", ")})` : "true"),
        "\\endif",
    ];
    return { text: lines.join("\n") + "\n", partStartLine: 0 };
}
