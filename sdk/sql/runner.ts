import * as crypto from "crypto";
import type { ExecResult, Transport } from "../transport/types";
import { ClientInputs, pgpassLine, psqlCommand, sqliteCommand } from "./client";
import { parseClientError, statementAt } from "./clientErrors";
import { Engine, Tenant } from "./names";
import { postgresApply, postgresRead, postgresRevert } from "./postgresScripts";
import { MARK, Script } from "./scriptTypes";
import { sqliteApply, sqliteRead, sqliteRevert } from "./sqliteScripts";

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
    const rolledBack = `The transaction was rolled back: tenant ${target.tenant.name} keeps no part of this ${verb === "apply" ? "delta" : "revert"}.`;
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

/**
 * Applies one delta to one tenant in one transaction, or adopts it when the
 * tenant's history already records it with the same checksum.
 */
export async function applyDelta(
    t: Transport,
    target: SqlTarget,
    d: DeltaSql & { appliedBy: string },
): Promise<{ outcome: "applied" | "adopted"; appliedAt: string }> {
    const input = { historyTable: target.historyTable, id: d.id, checksum: d.checksum, up: d.up, appliedBy: d.appliedBy, statementTimeout: target.statementTimeout };
    if (target.engine === "sqlite") {
        // SQLite's client cannot branch, so the adopt decision is made here; BEGIN IMMEDIATE and the primary key guard the gap.
        const existing = (await readHistory(t, target, [d.id])).get(d.id);
        if (existing) {
            if (existing.checksum !== d.checksum) throw recordedElsewhere("apply", d, t, target, existing.checksum);
            return { outcome: "adopted", appliedAt: existing.appliedAt };
        }
    }
    const script = target.engine === "postgres" ? postgresApply(input) : sqliteApply(input);
    const r = await run(t, target, script, true);
    if (r.code !== 0 || r.timedOut) {
        const err = parseClientError(r.stderr);
        if (err?.recordedChecksum) throw recordedElsewhere("apply", d, t, target, err.recordedChecksum);
        throw failure("apply", d.id, t, target, r, script, d.up, "up");
    }
    const row = rows(r.stdout).get(d.id);
    if (!row) throw new SqlDeltaError(`failed to apply delta ${d.id} to ${where(t, target)}: the client reported success but no history row was found; output: ${r.stdout.trim()}`);
    return { outcome: r.stdout.includes(`${MARK}adopted`) ? "adopted" : "applied", appliedAt: row.appliedAt };
}

/**
 * Runs the down part and deletes the history row in one transaction. With
 * no down part, only deletes the row (the caller decided that forgetting is
 * allowed). A tenant without the row has nothing to undo: "absent".
 */
export async function revertDelta(t: Transport, target: SqlTarget, d: Omit<DeltaSql, "up">): Promise<"reverted" | "absent"> {
    const input = { historyTable: target.historyTable, id: d.id, checksum: d.checksum, down: d.down, statementTimeout: target.statementTimeout };
    if (target.engine === "sqlite") {
        const existing = (await readHistory(t, target, [d.id])).get(d.id);
        if (!existing) return "absent";
        if (existing.checksum !== d.checksum) throw recordedElsewhere("revert", { ...d, up: "" }, t, target, existing.checksum);
    }
    const script = target.engine === "postgres" ? postgresRevert(input) : sqliteRevert(input);
    const r = await run(t, target, script, true);
    if (r.code !== 0 || r.timedOut) {
        const err = parseClientError(r.stderr);
        if (err?.recordedChecksum) throw recordedElsewhere("revert", { ...d, up: "" }, t, target, err.recordedChecksum);
        throw failure("revert", d.id, t, target, r, script, d.down, "down");
    }
    return r.stdout.includes(`${MARK}absent`) ? "absent" : "reverted";
}
