import * as crypto from "crypto";
import { describeConnection, isUnknown, joinSecrets } from "../connection";
import * as sql from "../sql";
import * as transport from "../transport";
import { watchEngine } from "./engineWatch";
import { InputFailure, SqlDeltaProviderInputs as Inputs, SqlDeltaProviderOutputs as Outputs, validateInputs } from "./sqlDeltaInputs";

/**
 * The SqlDelta lifecycle in plain functions: the provider class forwards to
 * these, so its serialized form stays a few `require` lines.
 */

/** The engine shows a dynamic provider's stdout under the stack's Diagnostics. */
function stdoutLog(line: string): void {
    console.log(line);
}

/** A caller other than the dynamic provider (the plugin) says where lines go. */
export interface RunOptions {
    log?: (line: string) => void;
}

function target(i: Inputs): sql.SqlTarget {
    const client: sql.ClientInputs = { ...(i.client ?? {}) };
    if (i.password !== undefined) client.password = i.password;
    return { engine: i.engine, tenant: { name: i.tenant, database: i.database }, historyTable: i.historyTable, client, statementTimeout: i.statementTimeout };
}

function where(i: Inputs): string {
    return i.connection ? describeConnection(i.connection) : "local";
}

function owner(i: Inputs, instance: string): sql.Owner {
    return { stack: i.ownerStack, urn: i.ownerUrn, instance };
}

/** Whose row it is, in words; a row without an owner is one 0.1 (or a person) wrote. */
function ownedBy(o: sql.RecordedOwner): string {
    return o.instance === null ? "no one (the row has no owner: written by pulumi-delta 0.1 or by hand; only state from 0.1 reverts it)" : sql.describeOwner(o);
}

async function withTransport<T>(i: Inputs, fn: (t: transport.Transport) => Promise<T>): Promise<T> {
    watchEngine();
    const t = await transport.openTransport(i.connection ? joinSecrets(i.connection, i.credentials) : undefined);
    try {
        return await fn(t);
    } finally {
        await t.close();
    }
}

export function check(olds: Partial<Inputs>, news: Inputs): { inputs: Inputs; failures: InputFailure[] } {
    watchEngine();
    const failures = validateInputs(news);
    // olds is empty for a delta not yet applied; for an applied one, its place in the chain must hold.
    if (olds.deltaId !== undefined && olds.tenant === news.tenant && olds.deltaId === news.deltaId) {
        const allow = news.allowOutOfOrder === true;
        const problem = sql.chainProblem({ tenant: olds.tenant, id: olds.deltaId, previous: olds.previous }, { tenant: news.tenant, id: news.deltaId, previous: news.previous }, allow);
        if (problem && !isUnknown(news.previous)) failures.push({ property: "previous", reason: problem });
        if (olds.historyTable !== undefined && news.historyTable !== olds.historyTable && !isUnknown(news.historyTable)) {
            failures.push({
                property: "historyTable",
                reason: `historyTable cannot change while delta ${news.deltaId} is applied to tenant ${news.tenant} (recorded in ${olds.historyTable}); rename the table in the database and keep the setting, or set it back to "${olds.historyTable}"`,
            });
        }
    }
    return { inputs: news, failures };
}

/** Inputs that name a different database: apply there, then revert here. */
const REPLACING = ["engine", "database"] as const;
/**
 * Inputs recorded without touching the database when they change. Names
 * (component, appliedBy, ownerStack, ownerUrn) are in neither list: an alias
 * changes them alone, which is no change; the next write records them.
 */
const RECORDED = ["file", "format", "down", "previous", "client", "password", "connection", "credentials", "allowIrreversible", "allowOutOfOrder", "statementTimeout"] as const;

export function diff(olds: Outputs, news: Inputs): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    if (olds.checksum !== news.checksum && !isUnknown(news.checksum)) {
        throw new Error(sql.checksumChangedMessage(news.file, news.deltaId, news.tenant, olds.checksum, news.checksum));
    }
    const differs = (k: keyof Inputs) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null);
    const replaces = REPLACING.filter(differs);
    const changes = replaces.length > 0 || RECORDED.some(differs);
    return { changes, replaces: [...replaces], deleteBeforeReplace: false };
}

/** Applies the delta, or adopts the tenant's row of it; either way this new instance owns the row. */
export async function create(i: Inputs, run: RunOptions = {}): Promise<{ id: string; outs: Outputs }> {
    const log = run.log ?? stdoutLog;
    const instanceId = crypto.randomBytes(8).toString("hex");
    const r = await withTransport(i, (t) => sql.applyDelta(t, target(i), { id: i.deltaId, checksum: i.checksum, up: i.up, appliedBy: i.appliedBy, owner: owner(i, instanceId) }));
    if (r.previousOwner) {
        const from = r.previousOwner.instance === null ? "it had no owner (written by pulumi-delta 0.1 or by hand)" : `took it over from ${sql.describeOwner(r.previousOwner)}`;
        log(`${i.component}: tenant ${i.tenant} already has ${i.deltaId} recorded with the same checksum; adopted it without running it; ${from}`);
    }
    return { id: `${i.tenant}/${i.deltaId}`, outs: { ...i, instanceId, appliedAt: r.appliedAt, outcome: r.outcome } };
}

/**
 * Only recorded inputs changed (diff refuses the rest): nothing to run. The
 * row is written only to record ownership: state from 0.1 gets an instance
 * id and claims the row if 0.1 left it unowned, and an owner whose stack or
 * URN changed (an alias) writes the new ones.
 */
export async function update(olds: Outputs, news: Inputs, run: RunOptions = {}): Promise<{ outs: Outputs }> {
    const log = run.log ?? stdoutLog;
    const instanceId = olds.instanceId ?? crypto.randomBytes(8).toString("hex");
    if (olds.instanceId === undefined || olds.ownerStack !== news.ownerStack || olds.ownerUrn !== news.ownerUrn) {
        const r = await withTransport(news, (t) => sql.claimDelta(t, target(news), { id: news.deltaId, owner: owner(news, instanceId), claimUnowned: olds.instanceId === undefined }));
        if (r.outcome === "kept") log(`${news.component}: tenant ${news.tenant}: delta ${news.deltaId} is owned by ${ownedBy(r.owner)}; this resource's delete will leave it applied`);
    }
    return { outs: { ...news, instanceId, appliedAt: olds.appliedAt, outcome: olds.outcome } };
}

/** Runs the down part only when this instance owns the tenant's row; another owner's row is left applied. */
export async function remove(p: Outputs, run: RunOptions = {}): Promise<void> {
    const log = run.log ?? stdoutLog;
    if (p.down === undefined && !p.allowIrreversible) {
        throw new Error(
            `${p.component}: delta ${p.deltaId} is irreversible (${p.file} has no down part), so it cannot be removed from tenant ${p.tenant}; ` +
                `to forget it without undoing it, restore the file, set allowIrreversible: true, run pulumi up, then remove it again`,
        );
    }
    const r = await withTransport(p, (t) => sql.revertDelta(t, target(p), { id: p.deltaId, checksum: p.checksum, down: p.down, instance: p.instanceId }));
    if (r.outcome === "absent") log(`${p.component}: tenant ${p.tenant} has no history row for ${p.deltaId} on ${where(p)}; nothing to undo`);
    else if (r.outcome === "kept") log(`${p.component}: tenant ${p.tenant}: delta ${p.deltaId} is owned by ${ownedBy(r.owner)}; left applied`);
    else if (p.down === undefined) log(`${p.component}: forgot irreversible delta ${p.deltaId} in tenant ${p.tenant} without undoing it (allowIrreversible)`);
}

/** Refresh: a delta whose history row is gone leaves the state, so the next preview shows it as a create. */
export async function read(id: string, p: Outputs): Promise<{ id: string; props: Partial<Outputs> }> {
    const rows = await withTransport(p, (t) => sql.readHistory(t, target(p), [p.deltaId]));
    const row = rows.get(p.deltaId);
    if (!row) return { id: "", props: {} };
    return { id, props: { ...p, appliedAt: row.appliedAt } };
}
