import { quoteIdent, quoteLiteral } from "./names";
import { ApplyInput, MARK, part, RevertInput, Script } from "./scriptTypes";

function dollarQuote(body: string): string {
    let tag = "pd";
    for (let i = 0; body.includes(`$${tag}$`); i++) tag = `pd${i}`;
    return `$${tag}$${body}$${tag}$`;
}

/** Preamble: one delta at a time per database and history table, and the table itself. */
function prelude(table: string, statementTimeout?: number): string[] {
    const lines = [
        // Advisory locks are scoped to the current database, so this key serializes one tenant.
        `SELECT pg_advisory_xact_lock(hashtext(${quoteLiteral(`pulumi-delta:${table}`)})) AS pd_lock \\gset`,
        "SET LOCAL client_min_messages = warning;",
        `CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (id text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL);`,
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
 * same checksum, else run the up part and insert the row (the primary key
 * makes a concurrent double apply fail and roll back).
 */
export function postgresApply(d: ApplyInput): Script {
    const t = quoteIdent(d.historyTable);
    const id = quoteLiteral(d.id);
    const lines = [
        ...prelude(d.historyTable, d.statementTimeout),
        refuseOtherChecksum(d.historyTable, d.id, d.checksum),
        `SELECT EXISTS (SELECT 1 FROM ${t} WHERE id = ${id}) AS pd_adopt \\gset`,
        "\\if :pd_adopt",
        `\\echo ${MARK}adopted`,
        "\\else",
    ];
    const partStartLine = part(lines, d.up);
    lines.push(
        `INSERT INTO ${t} (id, checksum, applied_by) VALUES (${id}, ${quoteLiteral(d.checksum)}, ${quoteLiteral(d.appliedBy)});`,
        `\\echo ${MARK}applied`,
        "\\endif",
        rowQuery(d.historyTable, `id = ${id}`),
    );
    return { text: lines.join("\n") + "\n", partStartLine };
}

/** Runs the down part and deletes the history row in one transaction; a missing row means nothing to undo. */
export function postgresRevert(d: RevertInput): Script {
    const t = quoteIdent(d.historyTable);
    const id = quoteLiteral(d.id);
    const lines = [
        ...prelude(d.historyTable, d.statementTimeout),
        refuseOtherChecksum(d.historyTable, d.id, d.checksum),
        `SELECT EXISTS (SELECT 1 FROM ${t} WHERE id = ${id}) AS pd_present \\gset`,
        "\\if :pd_present",
    ];
    const partStartLine = d.down === undefined ? 0 : part(lines, d.down);
    lines.push(`DELETE FROM ${t} WHERE id = ${id};`, `\\echo ${MARK}reverted`, "\\else", `\\echo ${MARK}absent`, "\\endif");
    return { text: lines.join("\n") + "\n", partStartLine };
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
