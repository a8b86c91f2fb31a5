import * as path from "path";
import { diffManifests, Manifest, ManifestDelta, sourcePath } from "../manifest";
import { stageFile } from "./stageFile";
import { LargeFileIndex } from "./chunkIndex";
import type { Transport } from "../transport";
import { HookError, Hooks, runInPlaceHooks, validateStaged } from "./hooks";
import { HostFiles, Ownership } from "./hostFiles";
import { Journal, JournalOp, readJournal, undoJournal, writeJournal } from "./journal";
import { backupPath, HostLayout, layoutFor, resolveStateRoot, slotPath, targetPath } from "./layout";
import { acquireLock } from "./lock";
import { forEachLimit } from "./pool";
import { ProgressMeter } from "./progress";
import { hashOnHost, lastRecordOf, newRecordId, RecordChange, RecordOwner, RecordRollback, saveRecord } from "./records";

/** Files below this size go many at a time; larger ones a few at a time, each with many writes in flight. */
const SMALL_FILE = 1024 * 1024;
const SMALL_FILES_IN_FLIGHT = 32;
const LARGE_FILES_IN_FLIGHT = 2;
const STATS_IN_FLIGHT = 64;
const COMMITS_IN_FLIGHT = 64;

export interface DeployRequest {
    /** Absolute local path of the source directory or file. */
    source: string;
    destination: string;
    stateDir?: string;
    /** What the last deployment left (undefined on create). */
    previous?: Manifest;
    next: Manifest;
    /** Directories earlier deployments created (absolute). */
    createdDirs?: string[];
    /** Name used in progress lines. */
    name?: string;
    log?: (line: string) => void;
    /** Milliseconds between progress lines. Default: 3000. */
    progressIntervalMs?: number;
    /** validate / onChange commands and their timeout. Default: none. */
    hooks?: Hooks;
    /** Project, stack and resource named in the deployment's record. */
    owner?: RecordOwner;
    /** Owner and group for the files this delta puts; set on the staged files, so each appears with them. Default: as the host makes them. */
    ownership?: Ownership;
}

export interface DeployResult {
    delta: ManifestDelta;
    bytesSent: number;
    /** Directories deployments created that still exist: removed again on destroy. */
    createdDirs: string[];
    /** The record written to the host (or its summary when it lists too many files); undefined when nothing changed. */
    record?: ReturnType<typeof lastRecordOf>;
}

export class DeployError extends Error {}

/** `dirs` and all their ancestors, grouped by depth, shallowest first. */
function foldersByDepth(dirs: Iterable<string>): string[][] {
    const all = new Set<string>();
    for (const dir of dirs) {
        for (let d = dir; !all.has(d); d = path.posix.dirname(d)) {
            all.add(d);
            if (d === path.posix.dirname(d)) break;
        }
    }
    const levels: string[][] = [];
    for (const d of [...all].sort()) {
        const depth = d === "/" ? 0 : d.split("/").length - 1;
        (levels[depth] ??= []).push(d);
    }
    return levels.filter((l) => l !== undefined);
}

/** The nearest existing directory at or above `p` (what a new path's filesystem will be). */
async function nearestExisting(t: Transport, p: string): Promise<string> {
    for (let d = p; ; d = path.posix.dirname(d)) {
        const st = await t.stat(d);
        if (st?.kind === "dir") return d;
        if (d === path.posix.dirname(d)) return d;
    }
}

/**
 * Applies `next` over what `previous` deployed: stage new and changed files
 * on the destination's filesystem, then, under a journal, keep what each
 * path held and rename the staged file into place. Any failure before the
 * journal is dropped puts the destination back as it was.
 */
export async function deploy(t: Transport, req: DeployRequest): Promise<DeployResult> {
    const stateRoot = await resolveStateRoot(t, req.stateDir);
    const layout = layoutFor(stateRoot, req.destination);
    await t.mkdirp(stateRoot, 0o700);
    await t.mkdirp(layout.folder, 0o700);
    const release = await acquireLock(t, layout);
    try {
        const leftover = await readJournal(t, layout);
        if (leftover) {
            req.log?.(`${req.name ?? req.destination}: undoing an interrupted deployment (${leftover.id}) found in ${layout.journal}`);
            await undoJournal(t, layout, leftover);
        }
        return await applyDelta(t, layout, req);
    } finally {
        await release();
    }
}

async function applyDelta(t: Transport, layout: HostLayout, req: DeployRequest): Promise<DeployResult> {
    const { next, destination } = req;
    const previous = req.previous?.kind === next.kind ? req.previous : undefined;
    const delta = diffManifests(previous, next);
    const createdBefore = new Set(req.createdDirs ?? []);
    if (delta.added.length + delta.changed.length + delta.removed.length === 0) {
        return { delta, bytesSent: 0, createdDirs: [...createdBefore] };
    }
    const id = newRecordId();
    const startedAt = new Date().toISOString();
    const hooks = req.hooks ?? {};
    const destDir = next.kind === "file" ? path.posix.dirname(destination) : destination;

    const destStat = await t.stat(destination);
    if (destStat && next.kind === "dir" && destStat.kind !== "dir") {
        throw new DeployError(`destination ${destination} on ${t.host} is a ${destStat.kind}, but source is a directory; point destination at a directory`);
    }
    if (destStat && next.kind === "file" && destStat.kind === "dir") {
        throw new DeployError(`destination ${destination} on ${t.host} is a directory, but source is a single file; give the file's full path, e.g. ${path.posix.join(destination, [...next.entries.keys()][0])}`);
    }

    const [stateFs, destFs] = await Promise.all([t.space(layout.folder), t.space(await nearestExisting(t, destDir))]);
    const sameFs = stateFs.fsid !== undefined && stateFs.fsid === destFs.fsid;
    // Staging must share the destination's filesystem so the final rename is atomic.
    const staging = sameFs
        ? `${layout.folder}/staging-${id}`
        : path.posix.join(next.kind === "file" ? destDir : path.posix.dirname(destination), `.pulumi-delta-staging-${id}`);
    const files = new HostFiles(t, sameFs);
    const index = new LargeFileIndex(t, layout);
    const puts = [...delta.added, ...delta.changed];
    const putBytes = puts.reduce((n, p) => n + next.entries.get(p)!.size, 0);
    const need = putBytes + (sameFs ? 0 : puts.reduce((n, p) => n + (previous?.entries.get(p)?.size ?? 0), 0));
    if (need > destFs.availableBytes) {
        throw new DeployError(
            `not enough room on ${t.host} for ${destination}: the delta needs ${need} bytes (staging${sameFs ? "" : " and backups"}), ` +
                `${destFs.availableBytes} are free; free some space or deploy to another filesystem`,
        );
    }

    const createdNow: string[] = [];
    let bytesSent = 0;
    const ops: JournalOp[] = [];
    let journal: Journal | undefined;
    let planned: JournalOp[] = [];
    try {
        // 1. Stage: nothing at the destination changes yet.
        const parents = new Set(puts.map((p) => path.posix.dirname(targetPath(destination, next.kind, p))));
        createdNow.push(...(await files.ensureDir(staging, 0o700)));
        // Folders level by level, each level's many at a time: a parent is always made before its children.
        for (const level of foldersByDepth(parents)) {
            await forEachLimit(level, COMMITS_IN_FLIGHT, async (dir) => {
                createdNow.push(...(await files.ensureDir(dir)));
            });
        }
        const freshDirs = new Set(createdNow);
        const meter = new ProgressMeter(req.name ?? destination, puts.length, putBytes, req.log, req.progressIntervalMs);
        const staged = new Map<string, string>();
        puts.forEach((p, i) => staged.set(p, `${staging}/${i}`));
        const send = async (p: string) => {
            const e = next.entries.get(p)!;
            const src = sourcePath(req.source, next.kind, p);
            const before = next.kind === "file" ? [...(previous?.entries.values() ?? [])][0] : previous?.entries.get(p);
            // Large files are patched from the version already on the host when it can be; else sent whole.
            const got = await stageFile(t, {
                localPath: src,
                stagedPath: staged.get(p)!,
                targetPath: targetPath(destination, next.kind, p),
                entry: e,
                previous: before,
                index,
                onBytes: (n) => meter.bytes(n),
                log: req.log,
            });
            if (got.sha256 !== e.sha256) {
                throw new DeployError(
                    `source file ${src} changed after the preview hashed it (expected sha256:${e.sha256}, read sha256:${got.sha256}); run pulumi up again`,
                );
            }
            bytesSent += got.bytesSent;
            meter.file();
        };
        await Promise.all([
            forEachLimit(puts.filter((p) => next.entries.get(p)!.size < SMALL_FILE), SMALL_FILES_IN_FLIGHT, send),
            forEachLimit(puts.filter((p) => next.entries.get(p)!.size >= SMALL_FILE), LARGE_FILES_IN_FLIGHT, send),
        ]);
        meter.finish();
        // Owned before the rename, so a file never shows at the destination with the wrong owner.
        const own = req.ownership;
        if (own && (own.owner !== undefined || own.group !== undefined)) await forEachLimit(puts, COMMITS_IN_FLIGHT, (p) => t.chown(staged.get(p)!, own.owner, own.group));
        // validate with {staged}: the staged copy of a single file, before anything moves.
        if (next.kind === "file" && puts.length === 1) await validateStaged(t, hooks, staged.get(puts[0])!);

        // 2. Decide what each target's current content needs: a stat per target, skipped inside new folders.
        const putOps = puts.map((p) => ({ op: "put" as const, target: targetPath(destination, next.kind, p), slot: slotPath(next.kind, p), staged: staged.get(p)!, saved: null as "backup" | "original" | null }));
        await forEachLimit(putOps, STATS_IN_FLIGHT, async (op) => {
            if (freshDirs.has(path.posix.dirname(op.target))) return;
            const st = await t.stat(op.target);
            if (!st) return;
            if (st.kind !== "file") {
                throw new DeployError(`cannot replace ${op.target} on ${t.host}: it is a ${st.kind}, not a file; move it away or exclude the path`);
            }
            const ours = previous !== undefined && (next.kind === "file" || previous.entries.has(op.slot));
            op.saved = ours || (await files.exists(`${layout.originals}/${op.slot}`)) ? "backup" : "original";
        });
        ops.push(...putOps);
        for (const p of delta.removed) {
            const slot = slotPath(next.kind, p);
            ops.push({ op: "remove", target: targetPath(destination, next.kind, p), slot, restoresOriginal: await files.exists(`${layout.originals}/${slot}`) });
        }

        planned = ops;
        // 3. Commit under the journal.
        journal = { version: 1, id, destination, staging, sameFs, ops, createdDirs: createdNow };
        await writeJournal(t, layout, journal);
        // Paths are independent, so their moves run many at a time; the journal undoes any subset.
        await forEachLimit(ops, COMMITS_IN_FLIGHT, async (op) => {
            if (op.op === "put") {
                if (op.saved) await files.keepCopy(op.target, op.saved === "backup" ? backupPath(layout, op.slot) : `${layout.originals}/${op.slot}`);
                await t.rename(op.staged, op.target);
            } else {
                if (!(await files.exists(op.target))) return;
                await files.move(op.target, backupPath(layout, op.slot), `${backupPath(layout, op.slot)}.tmp-${id}`);
                if (op.restoresOriginal) await files.move(`${layout.originals}/${op.slot}`, op.target, `${path.posix.dirname(op.target)}/.${path.posix.basename(op.target)}.pulumi-delta-${id}`);
            }
        });
        const committed = journal;
        await runInPlaceHooks(t, hooks, () => undoJournal(t, layout, committed), (line) => req.log?.(`${req.name ?? req.destination}: ${line}`));
        await t.unlink(layout.journal);
        journal = undefined;
    } catch (err) {
        if (journal && !(err instanceof HookError && err.undone)) {
            await undoJournal(t, layout, journal).catch((undoErr: Error) => {
                throw new DeployError(
                    `${(err as Error).message}; undoing the partial deployment also failed (${undoErr.message}); ` +
                        `${layout.journal} on ${t.host} still names what to undo, and the next pulumi up will retry`,
                );
            });
        } else {
            await t.removeTree(staging).catch(() => undefined);
            await files.removeEmptyDirs(createdNow.filter((d) => d !== staging)).catch(() => undefined);
        }
        throw err;
    }

    // Committed. Dropping what only an undo would have needed (freeing a large
    // backup takes the filesystem a while) runs alongside the bookkeeping.
    const dropUndoData = async () => {
        await t.removeTree(staging);
        // The backups by name (no walk of the folder): one request per file, many in flight.
        const kept = ops.filter((op) => op.op === "remove" || op.saved === "backup").map((op) => backupPath(layout, op.slot));
        await forEachLimit(kept, COMMITS_IN_FLIGHT, (f) => t.unlink(f).catch(() => undefined));
        if (kept.length) await t.rmdir(layout.backup).catch(() => t.removeTree(layout.backup));
    };
    const allCreated = new Set([...createdBefore, ...createdNow.filter((d) => d !== staging && !d.startsWith(staging + "/"))]);
    const bookkeeping = async () => {
        if (delta.removed.length) {
            const candidates = [...allCreated].filter((d) => delta.removed.some((p) => targetPath(destination, next.kind, p).startsWith(d + "/")));
            for (const d of await files.removeEmptyDirs(candidates)) allCreated.delete(d);
        }
        await index.afterCommit(previous, next, delta, destination, (line) => req.log?.(`${req.name ?? destination}: ${line}`));
        req.log?.(
            `${req.name ?? destination}: sent ${puts.length} file${puts.length === 1 ? "" : "s"} (${bytesSent} bytes), removed ${delta.removed.length} → ${t.host}:${destination}`,
        );
        return recordDeployment(t, layout, req, id, startedAt, planned);
    };
    const [, record] = await Promise.all([dropUndoData(), bookkeeping()]);
    return { delta, bytesSent, createdDirs: [...allCreated].sort(), record };
}

/**
 * Writes the deployment's record to records/ on the host. The deployment has
 * committed by now, so a failure to write it is reported, not thrown.
 */
async function recordDeployment(t: Transport, layout: HostLayout, req: DeployRequest, id: string, startedAt: string, ops: JournalOp[]): Promise<DeployResult["record"]> {
    const changes: RecordChange[] = [];
    const rollback: RecordRollback[] = [];
    const previous = req.previous;
    for (const op of [...ops].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0))) {
        if (op.op === "put") {
            const e = req.next.kind === "file" ? [...req.next.entries.values()][0] : req.next.entries.get(op.slot)!;
            changes.push({ file: op.target, action: op.saved ? "update" : "create", sha256: e.sha256, bytes: e.size });
            rollback.push(
                op.saved
                    ? { file: op.target, action: "restore", backup: op.saved === "original" ? `${layout.originals}/${op.slot}` : null }
                    : { file: op.target, action: "delete", backup: null },
            );
        } else if (op.restoresOriginal) {
            changes.push({ file: op.target, action: "update", ...(await hashOnHost(t, op.target)) });
            rollback.push({ file: op.target, action: "restore", backup: null });
        } else {
            const e = previous?.kind === "file" ? [...previous.entries.values()][0] : previous?.entries.get(op.slot);
            changes.push({ file: op.target, action: "delete", sha256: e?.sha256 ?? null, bytes: e?.size ?? null });
            rollback.push({ file: op.target, action: "restore", backup: null });
        }
    }
    const saved = await saveRecord(t, layout, { id, operation: "deploy", time: startedAt, destination: req.destination, owner: req.owner, name: req.name, changes, rollback }, req.log);
    return saved ? lastRecordOf(saved.record, saved.path) : undefined;
}
