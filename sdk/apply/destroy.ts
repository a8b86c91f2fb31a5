import * as path from "path";
import { comparePaths, Manifest } from "../manifest";
import type { Transport } from "../transport";
import { dropLargeFileIndex } from "./chunkIndex";
import { HostFiles } from "./hostFiles";
import { HookError, Hooks, runInPlaceHooks, validateStaged } from "./hooks";
import { Journal, RemoveOp, undoJournal, writeJournal } from "./journal";
import { backupPath, layoutFor, resolveStateRoot, slotPath, targetPath } from "./layout";
import { claimFromState, DIRECT_CALLER, holds, Ledger, openLedger, OwnerId, stackName, writeLedger } from "./ledger";
import { acquireLock } from "./lock";
import { recoverDestination } from "./recovery";
import { forEachLimit } from "./pool";
import { hashOnHost, newRecordId, RecordChange, RecordOwner, RecordRollback, saveRecord } from "./records";
import { foldersNotReal } from "./tree";

export type OnDestroy = "restore" | "remove" | "retain";
export const ON_DESTROY_VALUES: readonly OnDestroy[] = ["restore", "remove", "retain"];

export interface DestroyRequest {
    destination: string;
    stateDir?: string;
    /** What Pulumi's state says the deployment put at the destination (used only to claim paths a ledger does not know: state written by 0.1). */
    deployed: Manifest;
    /** Who is being destroyed, in the host's ledger: only paths this instance owns are touched. Default: DIRECT_CALLER (one identity for programs that call this directly, such as benchmarks). */
    identity?: OwnerId;
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
 * A folder of this owner that stays (it holds files it did not deploy) goes
 * to an owner with files in it, whose destroy removes it once it empties;
 * with no such owner it is left as a foreign folder.
 */
function handOverDirs(ledger: Ledger, me: string, dirs: readonly string[], targetOf: (slot: string) => string): void {
    for (const d of dirs) {
        const heir = [...ledger.paths].find(([slot, p]) => p.owner !== me && holds(d, targetOf(slot)))?.[1].owner;
        const o = heir ? ledger.owners.get(heir) : undefined;
        if (o && !o.dirs.includes(d)) o.dirs.push(d);
    }
}

/**
 * Ends a deployment, acting only on the paths whose ledger entry carries
 * this instance's id. "restore" removes what it still owns and puts back the
 * original of each such path (what was there before any deployment);
 * "remove" removes what it still owns; "retain" leaves those files as
 * foreign ones. Files move under a journal, so a failing validate or
 * onChange hook puts the deployed files back (and runs onChange again).
 * Afterwards nothing of this instance remains under the state root but its
 * records, with one more for the destroy.
 */
export async function destroy(t: Transport, req: DestroyRequest): Promise<DestroyResult> {
    const layout = layoutFor(await resolveStateRoot(t, req.stateDir), req.destination);
    const say = (line: string) => req.log?.(`${req.name ?? req.destination}: ${line}`);
    await t.mkdirp(layout.folder, 0o700);
    const me = req.identity ?? DIRECT_CALLER;
    const release = await acquireLock(t, layout, { stack: stackName(me), resource: me.urn ?? req.name ?? "(unknown)" }, { log: say });
    const result: DestroyResult = { restored: 0, removed: 0 };
    const id = newRecordId();
    const startedAt = new Date().toISOString();
    const hooks = req.hooks ?? {};
    const changes: RecordChange[] = [];
    const rollback: RecordRollback[] = [];
    try {
        for (const line of await recoverDestination(t, layout, req.destination)) say(line);
        const { ledger } = await openLedger(t, layout, req.destination);
        claimFromState(ledger, me, req.deployed, (p) => slotPath(req.deployed.kind, p), req.createdDirs, startedAt);
        const record = ledger.owners.get(me.instance);
        const kind = record?.kind ?? req.deployed.kind;
        const targetOf = (slot: string) => targetPath(req.destination, kind, slot);
        const mine = ledger.slotsOf(me.instance).sort(comparePaths);
        if (!record) say(`owns no path on ${t.host}:${req.destination} (another deployment took them over, or none was committed); nothing to undo`);
        const destDir = kind === "file" ? path.posix.dirname(req.destination) : req.destination;
        const [a, b] = await Promise.all([t.space(layout.folder), t.stat(destDir).then((st) => (st ? t.space(destDir) : undefined))]);
        const files = new HostFiles(t, a.fsid !== undefined && a.fsid === b?.fsid);
        const ops: RemoveOp[] = [];
        if (req.onDestroy !== "retain") {
            // Never through a symlink: what sits under a deployed folder that is a link on the host now stays, named in the log.
            const notReal = kind === "dir" ? await foldersNotReal(t, req.destination, mine.map(targetOf)) : [];
            for (const d of notReal) say(`left what is under ${d} on ${t.host}: it is no longer a real folder (a symlink?), and pulumi-delta never acts through one`);
            const reachable = (target: string) => !notReal.some((d) => target.startsWith(d + "/"));
            await forEachLimit(mine, 32, async (slot) => {
                const target = targetOf(slot);
                if (!reachable(target)) return;
                const restoresOriginal = req.onDestroy === "restore" && ledger.originals.has(slot);
                const st = restoresOriginal ? undefined : await t.stat(target);
                // Files and symlinks go back like files; folders are removed below, once empty.
                if (restoresOriginal || st?.kind === "file" || (st?.kind === "symlink" && ledger.paths.get(slot)?.entry.type === "symlink")) ops.push({ op: "remove", target, slot, restoresOriginal });
            });
            ops.sort((x, y) => comparePaths(x.target, y.target));
        }
        let journal: Journal | undefined;
        if (ops.length) {
            // validate with {staged}: the original of a single file, before it moves back.
            if (kind === "file" && ops[0].restoresOriginal) await validateStaged(t, hooks, `${layout.originals}/${ops[0].slot}`);
            const j: Journal = { version: 1, id, destination: req.destination, staging: `${layout.folder}/staging-${id}`, sameFs: files.sameFs, ops, createdDirs: [] };
            journal = j;
            await writeJournal(t, layout, j);
            try {
                await forEachLimit(ops, 32, async (op) => {
                    if (await files.exists(op.target)) {
                        await files.move(op.target, backupPath(layout, op.slot), `${backupPath(layout, op.slot)}.tmp-${id}`);
                    }
                    if (op.restoresOriginal) {
                        await files.move(`${layout.originals}/${op.slot}`, op.target, `${path.posix.dirname(op.target)}/.${path.posix.basename(op.target)}.pulumi-delta-restore`);
                    }
                });
                await runInPlaceHooks(t, hooks, () => undoJournal(t, layout, j), (line) => say(line));
            } catch (err) {
                if (!(err instanceof HookError && err.undone)) {
                    await undoJournal(t, layout, j).catch((undoErr: Error) => {
                        throw new Error(`${(err as Error).message}; putting the deployed files back also failed (${undoErr.message}); ${layout.journal} on ${t.host} names what to undo`);
                    });
                }
                throw err;
            }
            for (const op of ops) {
                const deployed = ledger.paths.get(op.slot)?.entry;
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
        // The ledger forgets this instance: its paths, the originals only it could restore, its folders.
        const restored = new Set(ops.filter((op) => op.restoresOriginal).map((op) => op.slot));
        const dropOriginals: string[] = [];
        for (const slot of mine) {
            ledger.paths.delete(slot);
            if (!ledger.originals.has(slot)) continue;
            ledger.originals.delete(slot);
            if (!restored.has(slot)) dropOriginals.push(`${layout.originals}/${slot}`);
        }
        const dirs = record?.dirs ?? [];
        const removedDirs = new Set(req.onDestroy === "retain" ? [] : await files.removeEmptyDirs(dirs));
        if (req.onDestroy !== "retain") {
            for (const d of dirs.filter((x) => !removedDirs.has(x)).sort()) {
                const left = await t.readdir(d).catch(() => [] as string[]);
                if (left.length) say(`kept folder ${d} on ${t.host}: it holds ${left.length} path${left.length === 1 ? "" : "s"} pulumi-delta did not deploy (${left.slice(0, 5).join(", ")}${left.length > 5 ? ", …" : ""})`);
            }
        }
        ledger.owners.delete(me.instance);
        ledger.retire(me.instance);
        handOverDirs(ledger, me.instance, dirs.filter((d) => !removedDirs.has(d)), targetOf);
        ledger.pruneOwners();
        ledger.lastOperation = id;
        await writeLedger(t, layout, ledger);
        if (journal) await t.unlink(layout.journal);
        // After the ledger forgot them: a run killed before this leaves copies nobody restores, never a ledger naming a missing original.
        await forEachLimit(dropOriginals, 32, (f) => t.unlink(f).catch(() => undefined));
        await t.removeTree(layout.backup);
        if (ledger.isEmpty()) {
            await t.removeTree(layout.originals);
            await dropLargeFileIndex(t, layout);
        }
        const saved = await saveRecord(t, layout, { id, operation: "destroy", time: startedAt, destination: req.destination, owner: { ...req.owner, instance: me.instance }, name: req.name, changes, rollback }, req.log);
        result.recordPath = saved?.path;
    } finally {
        await release();
    }
    // Records stay (they are the audit trail); an otherwise empty folder goes.
    if ((await t.readdir(layout.folder)).length === 0) await t.rmdir(layout.folder);
    req.log?.(`${req.name ?? req.destination}: ${req.onDestroy}: ${result.restored} restored, ${result.removed} removed on ${t.host}:${req.destination}`);
    return result;
}
