import * as crypto from "crypto";
import type { Transport } from "../transport";
import { writeFileAtomically } from "./atomicFile";
import type { HostLayout } from "./layout";

/** Who a record belongs to: the Pulumi project, stack and resource name. */
export interface RecordOwner {
    project?: string;
    stack?: string;
    resource?: string;
    /** The resource instance (see the ownership ledger); absent in records written by 0.1. */
    instance?: string;
}

/** One path a delta changed. `sha256`/`bytes` describe the content the path holds after the delta (for `delete`: the content removed). */
export interface RecordChange {
    file: string;
    action: "create" | "update" | "delete";
    /** Hex, no prefix; null when not known (a restored original too large to hash). */
    sha256: string | null;
    bytes: number | null;
    /** Set when the path was rewritten (or removed) because it had drifted on the host: it held other content, another mode, or was gone. */
    drift?: "content" | "mode" | "removed";
    /** Where the version found on the host is kept (drifted files that were still there). */
    handEdited?: string;
}

/** How to undo one change: delete the created file, or restore the previous content from `backup` (null when the host keeps no copy: redeploy the previous version). */
export interface RecordRollback {
    file: string;
    action: "restore" | "delete";
    backup: string | null;
}

/** What `records/<id>.json` holds on the host, one per deployment or destroy. */
export interface DeltaRecord {
    version: 1;
    id: string;
    /** "deploy" for `pulumi up`, "destroy" for `pulumi destroy`. */
    operation: "deploy" | "destroy";
    project: string | null;
    stack: string | null;
    resource: string | null;
    /** The resource instance that made the delta; absent in records written by 0.1. */
    instance?: string;
    host: string;
    destination: string;
    /** ISO 8601, when the delta started. */
    time: string;
    changes: RecordChange[];
    rollback: RecordRollback[];
}

/** `lastRecord` when the record lists more files than fit in state: counts, and where the whole record is on the host. */
export interface DeltaRecordSummary {
    id: string;
    operation: "deploy" | "destroy";
    time: string;
    changeCount: number;
    rollbackCount: number;
    /** The record's path on the host. */
    path: string;
}

/** Files a record may list and still be returned whole as `lastRecord`. */
export const RECORD_FILE_LIMIT = 1000;

export function newRecordId(): string {
    return `${new Date().toISOString().replace(/[-:.]/g, "")}-${crypto.randomBytes(3).toString("hex")}`;
}

export function recordPath(layout: HostLayout, id: string): string {
    return `${layout.records}/${id}.json`;
}

export async function writeRecord(t: Transport, layout: HostLayout, record: DeltaRecord): Promise<string> {
    await t.mkdirp(layout.records, 0o700);
    const p = recordPath(layout, record.id);
    // Whole or not at all: a record cut off mid-write would stop `pulumi-delta history` at a JSON error.
    await writeFileAtomically(t, p, JSON.stringify(record, null, 2) + "\n", 0o600);
    return p;
}

/** The record itself when it is small enough, else its summary. */
export function lastRecordOf(record: DeltaRecord, p: string): DeltaRecord | DeltaRecordSummary {
    if (record.changes.length <= RECORD_FILE_LIMIT && record.rollback.length <= RECORD_FILE_LIMIT) return record;
    return { id: record.id, operation: record.operation, time: record.time, changeCount: record.changes.length, rollbackCount: record.rollback.length, path: p };
}

/** Records under `layout`, oldest first (ids start with the time). */
export async function listRecords(t: Transport, layout: HostLayout): Promise<DeltaRecord[]> {
    if (!(await t.stat(layout.records))) return [];
    const names = (await t.readdir(layout.records)).filter((n) => n.endsWith(".json")).sort();
    const out: DeltaRecord[] = [];
    for (const n of names) out.push(JSON.parse((await t.readFile(`${layout.records}/${n}`)).toString("utf8")) as DeltaRecord);
    return out;
}

const HASH_LIMIT = 64 * 1024 * 1024;

/** sha256 and size of a file on the host (null hash above 64 MiB). */
export async function hashOnHost(t: Transport, p: string): Promise<{ sha256: string | null; bytes: number | null }> {
    const st = await t.stat(p);
    if (!st || st.kind !== "file") return { sha256: null, bytes: null };
    if (st.size > HASH_LIMIT) return { sha256: null, bytes: st.size };
    return { sha256: crypto.createHash("sha256").update(await t.readFile(p)).digest("hex"), bytes: st.size };
}

/** What a deployment or destroy knows when it records itself. */
export interface RecordFacts {
    id: string;
    operation: DeltaRecord["operation"];
    time: string;
    destination: string;
    owner?: RecordOwner;
    /** Fallback for `resource` when no owner is given. */
    name?: string;
    changes: RecordChange[];
    rollback: RecordRollback[];
}

/**
 * Writes the record of a delta that is already in place. A record that
 * cannot be written is a warning, not a failure: the files moved, and
 * failing now would misreport the host's state.
 */
export async function saveRecord(
    t: Transport,
    layout: HostLayout,
    facts: RecordFacts,
    log?: (line: string) => void,
): Promise<{ record: DeltaRecord; path: string } | undefined> {
    const record: DeltaRecord = {
        version: 1,
        id: facts.id,
        operation: facts.operation,
        project: facts.owner?.project ?? null,
        stack: facts.owner?.stack ?? null,
        resource: facts.owner?.resource ?? facts.name ?? null,
        ...(facts.owner?.instance ? { instance: facts.owner.instance } : {}),
        host: t.host,
        destination: facts.destination,
        time: facts.time,
        changes: facts.changes,
        rollback: facts.rollback,
    };
    try {
        return { record, path: await writeRecord(t, layout, record) };
    } catch (err) {
        log?.(`${facts.name ?? facts.destination}: warning: the ${facts.operation} is done, but its record could not be written: ${(err as Error).message}`);
        return undefined;
    }
}
