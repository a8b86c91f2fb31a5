import * as path from "path";
import { Manifest, sortedPaths } from "../manifest";
import type { Transport } from "../transport";
import { dropLargeFileIndex } from "./chunkIndex";
import { HostFiles } from "./hostFiles";
import { HookError, Hooks, runInPlaceHooks, validateStaged } from "./hooks";
import { Journal, readJournal, RemoveOp, undoJournal, writeJournal } from "./journal";
import { backupPath, layoutFor, resolveStateRoot, slotPath, targetPath } from "./layout";
import { acquireLock } from "./lock";
import { forEachLimit } from "./pool";
import { hashOnHost, newRecordId, RecordChange, RecordOwner, RecordRollback, saveRecord } from "./records";

export type OnDestroy = "restore" | "remove" | "retain";
export const ON_DESTROY_VALUES: readonly OnDestroy[] = ["restore", "remove", "retain"];

export interface DestroyRequest {
    destination: string;
    stateDir?: string;
    /** What the deployment being destroyed put at the destination. */
    deployed: Manifest;
    createdDirs: string[];
    onDestroy: OnDestroy;
    name?: string;
    log?: (line: string) => void;
    /** validate / onChange, run when destroy restores or removes files. Default: none. */
    hooks?: Hooks;
    /** Project, stack and resource named in the destroy's record. */
    owner?: RecordOwner;
}

export interface DestroyResult {
    restored: number;
    removed: number;
    /** Where the destroy's record was written on the host (undefined if it could not be). */
    recordPath?: string;
}

/**
 * Ends a deployment. "restore" puts back every file it overwrote and removes
 * what it created; "remove" removes every deployed file; "retain" leaves
 * them. Files move under a journal, so a failing validate or onChange hook
 * puts the deployed files back (and runs onChange again). In every other
 * case the deployment's originals, backups and staging go; its records stay,
 * with one more for the destroy.
 */
export async function destroy(t: Transport, req: DestroyRequest): Promise<DestroyResult> {
    const layout = layoutFor(await resolveStateRoot(t, req.stateDir), req.destination);
    await t.mkdirp(layout.folder, 0o700);
    const release = await acquireLock(t, layout);
    const result: DestroyResult = { restored: 0, removed: 0 };
    const id = newRecordId();
    const startedAt = new Date().toISOString();
    const hooks = req.hooks ?? {};
    const changes: RecordChange[] = [];
    const rollback: RecordRollback[] = [];
    try {
        const leftover = await readJournal(t, layout);
        if (leftover) await undoJournal(t, layout, leftover);
        if (req.onDestroy !== "retain") {
            const { kind } = req.deployed;
            const destDir = kind === "file" ? path.posix.dirname(req.destination) : req.destination;
            const [a, b] = await Promise.all([t.space(layout.folder), t.stat(destDir).then((st) => (st ? t.space(destDir) : undefined))]);
            const sameFs = a.fsid !== undefined && a.fsid === b?.fsid;
            const files = new HostFiles(t, sameFs);
            const ops: RemoveOp[] = [];
            await forEachLimit(sortedPaths(req.deployed), 32, async (p) => {
                const slot = slotPath(kind, p);
                const target = targetPath(req.destination, kind, p);
                const restoresOriginal = req.onDestroy === "restore" && (await files.exists(`${layout.originals}/${slot}`));
                if (restoresOriginal || (await t.stat(target))?.kind === "file") ops.push({ op: "remove", target, slot, restoresOriginal });
            });
            ops.sort((x, y) => (x.target < y.target ? -1 : x.target > y.target ? 1 : 0));
            if (ops.length) {
                // validate with {staged}: the original of a single file, before it moves back.
                if (kind === "file" && ops[0].restoresOriginal) await validateStaged(t, hooks, `${layout.originals}/${ops[0].slot}`);
                const journal: Journal = { version: 1, id, destination: req.destination, staging: `${layout.folder}/staging-${id}`, sameFs, ops, createdDirs: [] };
                await writeJournal(t, layout, journal);
                try {
                    await forEachLimit(ops, 32, async (op) => {
                        if (await files.exists(op.target)) {
                            await files.move(op.target, backupPath(layout, op.slot), `${backupPath(layout, op.slot)}.tmp-${id}`);
                        }
                        if (op.restoresOriginal) {
                            await files.move(`${layout.originals}/${op.slot}`, op.target, `${path.posix.dirname(op.target)}/.${path.posix.basename(op.target)}.pulumi-delta-restore`);
                        }
                    });
                    await runInPlaceHooks(t, hooks, () => undoJournal(t, layout, journal), (line) => req.log?.(`${req.name ?? req.destination}: ${line}`));
                } catch (err) {
                    if (!(err instanceof HookError && err.undone)) {
                        await undoJournal(t, layout, journal).catch((undoErr: Error) => {
                            throw new Error(`${(err as Error).message}; putting the deployed files back also failed (${undoErr.message}); ${layout.journal} on ${t.host} names what to undo`);
                        });
                    }
                    throw err;
                }
                await t.unlink(layout.journal);
                for (const op of ops) {
                    const deployed = kind === "file" ? [...req.deployed.entries.values()][0] : req.deployed.entries.get(op.slot);
                    if (op.restoresOriginal) {
                        result.restored++;
                        changes.push({ file: op.target, action: "update", ...(await hashOnHost(t, op.target)) });
                    } else {
                        result.removed++;
                        changes.push({ file: op.target, action: "delete", sha256: deployed?.sha256 ?? null, bytes: deployed?.size ?? null });
                    }
                    rollback.push({ file: op.target, action: "restore", backup: null });
                }
            }
            await files.removeEmptyDirs(req.createdDirs);
        }
        await t.removeTree(layout.originals);
        await t.removeTree(layout.backup);
        await dropLargeFileIndex(t, layout);
        for (const name of await t.readdir(layout.folder)) {
            if (name.startsWith("staging-")) await t.removeTree(`${layout.folder}/${name}`);
        }
        const saved = await saveRecord(t, layout, { id, operation: "destroy", time: startedAt, destination: req.destination, owner: req.owner, name: req.name, changes, rollback }, req.log);
        result.recordPath = saved?.path;
    } finally {
        await release();
    }
    // Records stay (they are the audit trail); an otherwise empty folder goes.
    if ((await t.readdir(layout.folder)).length === 0) await t.rmdir(layout.folder);
    req.log?.(`${req.name ?? req.destination}: ${req.onDestroy}: ${result.restored} restored, ${result.removed} removed on ${t.host}:${req.destination}`);
    return result;
}
