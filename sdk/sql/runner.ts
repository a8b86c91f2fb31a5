import * as crypto from "crypto";
import type { ExecResult, Transport } from "../transport/types";
import { ClientInputs, pgpassLine, psqlCommand, sqliteCommand } from "./client";
import { parseClientError, statementAt } from "./clientErrors";
import { Engine, Tenant } from "./names";
import { OWNER_COLUMNS, Owner, ownerLine, RecordedOwner, UNOWNED } from "./owner";
import { postgresApply, postgresClaim, postgresRead, postgresRevert } from "./postgresScripts";
import { MARK, Script } from "./scriptTypes";
import { sqliteAdopt, sqliteApply, sqliteClaim, sqliteInspect, sqliteRead, sqliteRevert } from "./sqliteScripts";

/** Where one tenant's deltas go. */
export interface SqlTarget {
    engine: Engine;
    tenant: Tenant;
    historyTable: string;
    client: ClientInputs;
    /** Seconds one statement may run (PostgreSQL), or the whole run (SQLite). Default: no limit. */
    statementTimeout?: number;
}

/** One delta as a child resource holds it: enough to apply and revert without the file. */
export interface DeltaSql {
    id: string;
    checksum: string;
    up: string;
    down?: string;
}

/** A history row. */
export interface HistoryRow {
    checksum: string;
    appliedAt: string;
}

/** What a delete did: ran the down part, found no row, or left a row that another resource owns. */
export type RevertResult = { outcome: "reverted" } | { outcome: "absent" } | { outcome: "kept"; owner: RecordedOwner };

/** What recording an owner did: the row is the caller's, is missing, or belongs to another resource. */
export type ClaimResult = { outcome: "owned" } | { outcome: "absent" } | { outcome: "kept"; owner: RecordedOwner };

/** A failed run; the message names the tenant, the delta and what the database said. */
export class SqlDeltaError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "SqlDeltaError";
    }
}

function where(t: Transport, target: SqlTarget): string {
    return `tenant ${target.tenant.name} (database ${target.tenant.database} on ${t.host})`;
}

/** Runs a script through the engine's client with the SQL on stdin, the password (if any) in a 0600 file that lives for this run only. */
async function run(t: Transport, target: SqlTarget, script: Script, transactional: boolean): Promise<ExecResult> {
    const c = target.client;
    if (target.engine === "sqlite") {
        const command = sqliteCommand(c, target.tenant.database, { bail: transactional });
        return t.exec(command, { stdin: script.text, timeoutMs: target.statementTimeout ? target.statementTimeout * 1000 : undefined });
    }
    let passFile: string | undefined;
    if (c.password !== undefined) {
        passFile = `${(await t.homeDir()).replace(/\/+$/, "")}/.pulumi-delta-pgpass-${crypto.randomBytes(8).toString("hex")}`;
        await t.writeFile(passFile, pgpassLine(c.password), 0o600);
    }
    try {
        return await t.exec(psqlCommand(c, target.tenant.database, { singleTransaction: transactional, passFile }), { stdin: script.text });
    } finally {
        if (passFile) await t.unlink(passFile).catch(() => undefined);
    }
}

/** What went wrong, in the database's words, with the delta's failing statement when the client named a line. */
function failure(verb: string, id: string, t: Transport, target: SqlTarget, r: ExecResult, script: Script, partSql: string | undefined, partName: string): SqlDeltaError {
    const head = `failed to ${verb} delta ${id} ${verb === "apply" ? "to" : "in"} ${where(t, target)}`;
    const rolledBack = `The transaction was rolled back: tenant ${target.tenant.name} keeps no part of this ${verb === "apply" ? "delta" : verb === "revert" ? "revert" : "change"}.`;
    if (r.timedOut) return new SqlDeltaError(`${head}: ran past statementTimeout (${target.statementTimeout}s) and was stopped. ${rolledBack}`);
    const client = target.client.command ?? (target.engine === "postgres" ? "psql" : "sqlite3");
    if (r.code === 127) {
        const pkg = target.engine === "postgres" ? "postgresql-client" : "sqlite3";
        return new SqlDeltaError(`${head}: ${client} was not found on ${t.host}; install ${pkg} there, or set client.command to its path`);
    }
    const err = parseClientError(r.stderr);
    if (!err) return new SqlDeltaError(`${head}: ${client} exited with ${r.code}: ${r.stderr.trim() || r.stdout.trim() || "no output"}`);
    let text = `${head}: ${err.text}`;
    if (err.scriptLine !== undefined && partSql !== undefined && script.partStartLine > 0) {
        const line = err.scriptLine - script.partStartLine + 1;
        const stmt = line >= 1 ? statementAt(partSql, line) : undefined;
        if (stmt) text += `\nfailing statement (${partName} part, line ${stmt.line}):\n${stmt.text.replace(/^/gm, "    ")}`;
    }
    return new SqlDeltaError(`${text}\n${rolledBack}`);
}

function rows(stdout: string): Map<string, HistoryRow> {
    const out = new Map<string, HistoryRow>();
    for (const line of stdout.split("\n")) {
        const m = new RegExp(`^${MARK}row (\\S+) (\\S+) (.*)$`).exec(line);
        if (m) out.set(m[3], { checksum: m[1], appliedAt: m[2] });
    }
    return out;
}

/** The history rows of `ids` (all rows when empty) in one tenant; a missing table has none. */
export async function readHistory(t: Transport, target: SqlTarget, ids: string[]): Promise<Map<string, HistoryRow>> {
    const script = target.engine === "postgres" ? postgresRead(target.historyTable, ids) : sqliteRead(target.historyTable, ids);
    const r = await run(t, target, script, false);
    const noTable = target.engine === "sqlite" && r.stdout.includes(`${MARK}table 0`);
    if (r.code !== 0 && !noTable) {
        const err = parseClientError(r.stderr);
        throw new SqlDeltaError(`failed to read ${target.historyTable} in ${where(t, target)}: ${err?.text ?? (r.stderr.trim() || `exit code ${r.code}`)}`);
    }
    return rows(r.stdout);
}

function recordedElsewhere(verb: string, d: DeltaSql, t: Transport, target: SqlTarget, recorded: string): SqlDeltaError {
    return new SqlDeltaError(
        `failed to ${verb} delta ${d.id} ${verb === "apply" ? "to" : "in"} ${where(t, target)}: its history row has checksum ${recorded}, but this delta's is ${d.checksum}; ` +
            `the tenant got a different version of it, so nothing was run. Reconcile by hand (fix the database, or the row in ${target.historyTable}), then run again`,
    );
}

/** SQLite's view of one row before a write: the row, its owner, and the owner columns the table lacks. */
interface SqliteRow {
    row?: HistoryRow;
    owner?: RecordedOwner;
    missing: string[];
}

async function inspectSqlite(t: Transport, target: SqlTarget, id: string): Promise<SqliteRow> {
    const r = await run(t, target, sqliteInspect(target.historyTable, id), false);
    const hasTable = !r.stdout.includes(`${MARK}table 0`);
    const columns = new Set([...r.stdout.matchAll(new RegExp(`^${MARK}column (\\S+)$`, "gm"))].map((m) => m[1]));
    const missing = hasTable ? OWNER_COLUMNS.filter((c) => !columns.has(c)) : [];
    // A 0.1 table makes the owner query fail (and only it): its rows have no owner.
    const expected = !hasTable || (missing.length > 0 && /^no such column: owner_/.test(parseClientError(r.stderr)?.text ?? ""));
    if (r.code !== 0 && !expected) {
        const err = parseClientError(r.stderr);
        throw new SqlDeltaError(`failed to read ${target.historyTable} in ${where(t, target)}: ${err?.text ?? (r.stderr.trim() || `exit code ${r.code}`)}`);
    }
    const row = rows(r.stdout).get(id);
    if (!row) return { missing };
    return { row, owner: missing.length ? UNOWNED : ownerLine(r.stdout), missing };
}

/** Runs a write script; a failure names the delta, the database's error and, for a delta part, the failing statement. */
async function write(t: Transport, target: SqlTarget, verb: string, d: DeltaSql, script: Script, partSql: string | undefined, partName: string): Promise<ExecResult> {
    const r = await run(t, target, script, true);
    if (r.code !== 0 || r.timedOut) {
        const err = parseClientError(r.stderr);
        if (err?.recordedChecksum) throw recordedElsewhere(verb, d, t, target, err.recordedChecksum);
        if (r.stderr.includes(`${MARK}history-row-changed`)) {
            throw new SqlDeltaError(
                `failed to ${verb} delta ${d.id} in ${where(t, target)}: its row in ${target.historyTable} changed between the check and the transaction ` +
                    `(another run got in between), so nothing was run and the transaction was rolled back; run again`,
            );
        }
        throw failure(verb, d.id, t, target, r, script, partSql, partName);
    }
    return r;
}

/**
 * Applies one delta to one tenant in one transaction, or adopts it when the
 * tenant's history already records it with the same checksum. Either way
 * the row then names `d.owner`; an adopt returns the owner it took over from.
 */
export async function applyDelta(
    t: Transport,
    target: SqlTarget,
    d: DeltaSql & { appliedBy: string; owner: Owner },
): Promise<{ outcome: "applied" | "adopted"; appliedAt: string; previousOwner?: RecordedOwner }> {
    const input = { historyTable: target.historyTable, id: d.id, checksum: d.checksum, up: d.up, appliedBy: d.appliedBy, owner: d.owner, statementTimeout: target.statementTimeout };
    let script: Script;
    let previousOwner: RecordedOwner | undefined;
    if (target.engine === "sqlite") {
        // SQLite's client cannot branch, so the adopt decision is made here; BEGIN IMMEDIATE and the guards in the scripts close the gap.
        const s = await inspectSqlite(t, target, d.id);
        if (s.row && s.row.checksum !== d.checksum) throw recordedElsewhere("apply", d, t, target, s.row.checksum);
        previousOwner = s.owner;
        script = s.row ? sqliteAdopt(input, s.owner?.instance ?? null, s.missing) : sqliteApply(input, s.missing);
    } else script = postgresApply(input);
    const r = await write(t, target, "apply", d, script, d.up, "up");
    const row = rows(r.stdout).get(d.id);
    if (!row) throw new SqlDeltaError(`failed to apply delta ${d.id} to ${where(t, target)}: the client reported success but no history row was found; output: ${r.stdout.trim()}`);
    if (target.engine === "postgres" && r.stdout.includes(`${MARK}adopted`)) previousOwner = ownerLine(r.stdout) ?? UNOWNED;
    if (previousOwner) return { outcome: "adopted", appliedAt: row.appliedAt, previousOwner };
    return { outcome: "applied", appliedAt: row.appliedAt };
}

/**
 * When the row belongs to `d.instance` (undefined: state from before
 * instance ids, which owns the rows 0.1 left unowned), runs the down part
 * and deletes the row in one transaction; with no down part, only deletes
 * the row (the caller decided that forgetting is allowed). A row another
 * resource owns is left as it is ("kept"); a tenant without the row has
 * nothing to undo ("absent").
 */
export async function revertDelta(t: Transport, target: SqlTarget, d: Omit<DeltaSql, "up"> & { instance: string | undefined }): Promise<RevertResult> {
    const input = { historyTable: target.historyTable, id: d.id, checksum: d.checksum, down: d.down, instance: d.instance, statementTimeout: target.statementTimeout };
    const delta = { ...d, up: "" };
    let script: Script;
    if (target.engine === "sqlite") {
        const s = await inspectSqlite(t, target, d.id);
        if (!s.row || !s.owner) return { outcome: "absent" };
        if (s.owner.instance !== (d.instance ?? null)) return { outcome: "kept", owner: s.owner };
        if (s.row.checksum !== d.checksum) throw recordedElsewhere("revert", delta, t, target, s.row.checksum);
        script = sqliteRevert(input, s.missing);
    } else script = postgresRevert(input);
    const r = await write(t, target, "revert", delta, script, d.down, "down");
    if (r.stdout.includes(`${MARK}absent`)) return { outcome: "absent" };
    if (r.stdout.includes(`${MARK}kept`)) return { outcome: "kept", owner: ownerLine(r.stdout) ?? UNOWNED };
    return { outcome: "reverted" };
}

/**
 * Records `d.owner` in the row of `d.id` when it is already the owner's (a
 * newer stack or URN) or, with `claimUnowned`, when the row has no owner.
 */
export async function claimDelta(t: Transport, target: SqlTarget, d: { id: string; owner: Owner; claimUnowned: boolean }): Promise<ClaimResult> {
    const input = { historyTable: target.historyTable, ...d, statementTimeout: target.statementTimeout };
    const delta = { id: d.id, checksum: "", up: "" };
    if (target.engine === "sqlite") {
        const s = await inspectSqlite(t, target, d.id);
        if (!s.row || !s.owner) return { outcome: "absent" };
        const may = s.owner.instance === d.owner.instance || (d.claimUnowned && s.owner.instance === null);
        if (!may) return { outcome: "kept", owner: s.owner };
        await write(t, target, "record the owner of", delta, sqliteClaim(input, s.owner.instance, s.missing), undefined, "");
        return { outcome: "owned" };
    }
    const r = await write(t, target, "record the owner of", delta, postgresClaim(input), undefined, "");
    const owner = ownerLine(r.stdout);
    if (!owner) return { outcome: "absent" };
    return owner.instance === d.owner.instance ? { outcome: "owned" } : { outcome: "kept", owner };
}
