import * as path from "path";
import { diffManifests, foldersOf, Manifest, ManifestDelta, manifestDigest, sourcePath } from "../manifest";
import { stageFile } from "./stageFile";
import { LargeFileIndex } from "./chunkIndex";
import type { Transport } from "../transport";
import { HookError, Hooks, runInPlaceHooks, validateStaged } from "./hooks";
import { HostFiles, Ownership } from "./hostFiles";
import { Journal, JournalOp, undoJournal, writeJournal } from "./journal";
import { backupPath, checkStateRootApart, destinationKey, handEditedPath, HostLayout, layoutFor, resolveStateRoot, slotPath, targetPath } from "./layout";
import { Claim, conflictMessage, planClaim, settleDeployment, Settlement } from "./claims";
import { claimFromState, DIRECT_CALLER, Ledger, openLedger, OwnerId, stackName, writeLedger } from "./ledger";
import { acquireLock } from "./lock";
import { enterPhase } from "./phases";
import { recoverDestination } from "./recovery";
import { forEachLimit } from "./pool";
import { ProgressMeter } from "./progress";
import { hashOnHost, lastRecordOf, newRecordId, RecordChange, RecordOwner, RecordRollback, saveRecord } from "./records";
import { STATS_IN_FLIGHT } from "./hostCheck";
import { describeDriftPlan, DriftPlan, planDriftRepair, RepairedPath, verifyTakenOver } from "./recheck";
import { applyFolderModes, applyFolderMtimes, MtimeFrom, planFolders, setMtimesFrom, touchedFolders, TreeError } from "./tree";

/** Files below this size go many at a time; larger ones a few at a time, each with many writes in flight. */
const SMALL_FILE = 1024 * 1024;
const SMALL_FILES_IN_FLIGHT = 32;
const LARGE_FILES_IN_FLIGHT = 2;
const COMMITS_IN_FLIGHT = 64;

export interface DeployRequest {
    /** Absolute local path of the source directory or file. */
    source: string;
    destination: string;
    stateDir?: string;
    /**
     * What Pulumi's state says the last deployment left (undefined on
     * create). The host's ledger, not this, decides what the deployment builds
     * on; this only lets a resource the ledger does not know yet (state
     * written by 0.1) claim its paths.
     */
    previous?: Manifest;
    next: Manifest;
    /** `previous`'s manifest digest as state recorded it (state may keep an abbreviated `previous`). Default: computed from `previous`. */
    previousDigest?: string;
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
    /** Who this deployment is, in the host's ledger. Default: DIRECT_CALLER (one identity for programs that call this directly, such as benchmarks). */
    identity?: OwnerId;
    /** Stacks (`project/stack` or `org/project/stack`) whose paths this deployment may take over. Default: none. */
    takeOverFrom?: string[];
    /** Owner and group for the files this delta puts; set on the staged files, so each appears with them. Default: as the host makes them. */
    ownership?: Ownership;
    /**
     * Paths (manifest paths, like `next`'s) that the caller's state recorded
     * as drifted on the host (see `detectDrift`). Each that this resource
     * deployed is checked on the host again: one that is gone, or holds
     * other content or another mode than deployed, is rewritten from `next`
     * even when `next` did not change it (counted as changed, or added when
     * it was gone), and the version found there is kept under
     * `<stateDir>/<key>/drift/<deployment id>/` (named in the record as
     * `handEdited`). One that already holds what `next` wants is left alone.
     * Default: none.
     */
    drifted?: string[];
    /** Keep the source's mtimes on files, symlinks and the folders the delta touched. Default: true. */
    preserveMtimes?: boolean;
}

export interface DeployResult {
    delta: ManifestDelta;
    bytesSent: number;
    /** Directories this resource's deployments created that still exist: removed again on destroy. */
    createdDirs: string[];
    /** What the deployment built on: the host's view of this resource's files (the ledger), which may be newer than Pulumi's state. */
    previous: Manifest;
    /** The record written to the host (or its summary when it lists too many files); undefined when nothing changed. */
    record?: ReturnType<typeof lastRecordOf>;
    /** Present when `drifted` was given: the paths rewritten (or removed) because they had drifted, and those found holding the deployed version or what `next` wants (nothing to repair). */
    drift?: { repaired: RepairedPath[]; matched: string[] };
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
    checkStateRootApart(t.host, req.stateDir, stateRoot, req.destination);
    const layout = layoutFor(stateRoot, req.destination);
    const say = (line: string) => req.log?.(`${req.name ?? req.destination}: ${line}`);
    const identity = req.identity ?? DIRECT_CALLER;
    await t.mkdirp(stateRoot, 0o700);
    await t.mkdirp(layout.folder, 0o700);
    const release = await acquireLock(t, layout, { stack: stackName(identity), resource: identity.urn ?? req.name ?? "(unknown)" }, { log: say });
    try {
        for (const line of await recoverDestination(t, layout, req.destination)) say(line);
        const { ledger, converted } = await openLedger(t, layout, req.destination);
        if (converted) say(`converted ${layout.folder} on ${t.host}, written by pulumi-delta 0.1, to an ownership ledger`);
        const slotOf = (p: string) => slotPath(req.next.kind, p);
        if (req.previous) {
            const claimed = claimFromState(ledger, identity, req.previous, (p) => slotPath(req.previous!.kind, p), req.createdDirs ?? [], new Date().toISOString());
            if (claimed) say(`claimed ${claimed} path${claimed === 1 ? "" : "s"} that Pulumi's state says this resource deployed`);
            const mine = ledger.owners.get(identity.instance);
            if (mine?.digest && mine.digest !== (req.previousDigest ?? manifestDigest(req.previous))) {
                say(`the host holds a later deployment of this resource (${mine.deployment}) than Pulumi's state; taking the host as it is`);
            }
        }
        const claim = planClaim(ledger, identity, req.next, slotOf, req.takeOverFrom ?? []);
        if (claim.conflicts.length) throw new DeployError(conflictMessage(claim.conflicts, (slot) => targetPath(req.destination, req.next.kind, slot), t.host));
        return await applyDelta(t, layout, ledger, claim, req);
    } finally {
        await release();
    }
}

async function applyDelta(t: Transport, layout: HostLayout, ledger: Ledger, claim: Claim, req: DeployRequest): Promise<DeployResult> {
    const { next, destination } = req;
    const me = req.identity ?? DIRECT_CALLER;
    const slotOf = (p: string) => slotPath(next.kind, p);
    const restamped = await verifyTakenOver(t, ledger, claim, next, destination);
    const previous = claim.previous;
    let delta = diffManifests(previous, next);
    let drift: DriftPlan | undefined;
    if (req.drifted?.length) {
        drift = await planDriftRepair(t, ledger, claim, next, delta, destination, req.drifted);
        delta = drift.delta;
        for (const [slot, mtime] of drift.restamped) restamped.set(slot, mtime);
        req.log?.(`${req.name ?? destination}: ${describeDriftPlan(drift, req.drifted.length, t.host)}`);
    }
    const mineBefore = ledger.owners.get(me.instance);
    const inheritedDirs = [...(mineBefore?.dirs ?? []), ...claim.predecessors.flatMap((id) => ledger.owners.get(id)?.dirs ?? [])];
    const createdBefore = new Set(inheritedDirs);
    const id = newRecordId();
    const startedAt = new Date().toISOString();
    const settlement: Settlement = { id, time: startedAt, digest: manifestDigest(next), puts: new Map(), removed: new Map(), restamped, dirs: [] };
    // The hand-edited versions of drifted files that are still there, kept past the commit.
    const handEdited = new Map([...(drift?.repairs ?? [])].filter(([, r]) => r.size !== undefined).map(([slot, r]) => [slot, { target: r.target, size: r.size!, keptAt: handEditedPath(layout, id, slot) }]));
    const driftResult = drift && {
        repaired: [...drift.repairs].map(([slot, r]) => ({ path: r.path, drift: r.drift, ...(handEdited.has(slot) ? { handEdited: handEdited.get(slot)!.keptAt } : {}) })),
        matched: drift.matched,
    };
    if (delta.added.length + delta.changed.length + delta.removed.length === 0) {
        // Nothing moves; a takeover, a first contact or a drifted file found as deployed (mtime moved) still changes the ledger.
        const known = mineBefore && mineBefore.urn === me.urn && mineBefore.digest === settlement.digest;
        if (!known || claim.takenOver.length || claim.predecessors.length || restamped.size) {
            settleDeployment(ledger, me, claim, next, slotOf, { ...settlement, dirs: [...createdBefore] });
            await writeLedger(t, layout, ledger);
        }
        return { delta, bytesSent: 0, createdDirs: [...createdBefore].sort(), previous, ...(driftResult ? { drift: driftResult } : {}) };
    }
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
        : path.posix.join(path.posix.dirname(destination), `.pulumi-delta-staging-${destinationKey(destination)}-${id}`);
    const files = new HostFiles(t, sameFs);
    const index = new LargeFileIndex(t, layout);
    const puts = [...delta.added, ...delta.changed];
    const typeOf = (m: Manifest | undefined, p: string) => (m?.kind === "file" ? undefined : m?.entries.get(p)?.type);
    // Files and symlinks are staged and renamed into place; folders are made (or given their mode) where they go.
    const stagedPuts = puts.filter((p) => typeOf(next, p) !== "dir");
    const filePuts = stagedPuts.filter((p) => typeOf(next, p) === undefined);
    const dirPuts = puts.filter((p) => typeOf(next, p) === "dir");
    const prevFolders = previous ? foldersOf(previous) : new Map<string, number>();
    const nextFolders = foldersOf(next);
    const putBytes = filePuts.reduce((n, p) => n + next.entries.get(p)!.size, 0);
    const need = putBytes + (sameFs ? 0 : puts.reduce((n, p) => n + (previous?.entries.get(p)?.size ?? 0), 0) + [...handEdited.values()].reduce((n, h) => n + h.size, 0));
    if (need > destFs.availableBytes) {
        throw new DeployError(
            `not enough room on ${t.host} for ${destination}: the delta needs ${need} bytes (staging${sameFs ? "" : " and backups"}), ` +
                `${destFs.availableBytes} are free; free some space or deploy to another filesystem`,
        );
    }

    const createdNow: string[] = [];
    const replacedDirsDone: string[] = [];
    let bytesSent = 0;
    const ops: JournalOp[] = [];
    let journal: Journal | undefined;
    let planned: JournalOp[] = [];
    let ledgerWritten = false;
    try {
        // 1. Stage: nothing at the destination changes yet. The folders it will
        // create are journaled first, so a run killed from here on leaves
        // nothing the next one cannot take away.
        const parents = new Set(puts.map((p) => path.posix.dirname(targetPath(destination, next.kind, p))));
        const levels = foldersByDepth([...parents, ...dirPuts.map((p) => targetPath(destination, next.kind, p)), path.posix.dirname(staging)]);
        // A folder path where the host has a symlink or file that this delta takes away (a link retargeted into a real folder) is made after the removals.
        const replacedByFolder = (abs: string) => {
            if (next.kind !== "dir" || !abs.startsWith(destination + "/")) return false;
            const rel = abs.slice(destination.length + 1);
            const before = previous?.entries.get(rel);
            return before !== undefined && before.type !== "dir" && nextFolders.has(rel);
        };
        let folderPlan;
        try {
            folderPlan = await planFolders(t, destination, levels.flat(), replacedByFolder);
            // What is removed is never reached through a symlink either (a deployed folder someone replaced by a link elsewhere).
            const removedParents = new Set(delta.removed.map((p) => path.posix.dirname(targetPath(destination, next.kind, p))));
            await planFolders(t, destination, foldersByDepth(removedParents).flat().filter((d) => d.startsWith(destination + "/")), () => false);
        } catch (err) {
            if (err instanceof TreeError) throw new DeployError(err.message);
            throw err;
        }
        const existing = folderPlan.existing;
        const folderMode = (abs: string) => (next.kind === "dir" && abs.startsWith(destination + "/") ? nextFolders.get(abs.slice(destination.length + 1)) ?? 0o755 : 0o755);
        const deferred = new Set(folderPlan.deferred);
        const keptDir = handEdited.size ? handEditedPath(layout, id) : undefined;
        journal = { version: 1, id, destination, staging, sameFs, ops: [], createdDirs: [...folderPlan.create, ...folderPlan.deferred], ...(keptDir ? { handEdited: keptDir } : {}) };
        await writeJournal(t, layout, journal);
        await enterPhase("upload");
        createdNow.push(...(await files.ensureDir(staging, 0o700)));
        // Folders level by level, each level's many at a time: a parent is always made before its children.
        for (const level of levels) {
            await forEachLimit(
                level.filter((d) => !existing.has(d) && !deferred.has(d)),
                COMMITS_IN_FLIGHT,
                async (dir) => {
                    // A folder entry is made with its mode (less the umask: applied exactly after the puts), so a 0700 folder never shows wider.
                    createdNow.push(...(await files.ensureDir(dir, folderMode(dir))));
                },
            );
        }
        const freshDirs = new Set([...createdNow, ...deferred]);
        const meter = new ProgressMeter(req.name ?? destination, filePuts.length, putBytes, req.log, req.progressIntervalMs);
        const staged = new Map<string, string>();
        stagedPuts.forEach((p, i) => staged.set(p, `${staging}/${i}`));
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
        const linkPuts = stagedPuts.filter((p) => typeOf(next, p) === "symlink");
        await Promise.all([
            forEachLimit(filePuts.filter((p) => next.entries.get(p)!.size < SMALL_FILE), SMALL_FILES_IN_FLIGHT, send),
            forEachLimit(filePuts.filter((p) => next.entries.get(p)!.size >= SMALL_FILE), LARGE_FILES_IN_FLIGHT, send),
            forEachLimit(linkPuts, COMMITS_IN_FLIGHT, (p) => t.symlink(next.entries.get(p)!.target ?? "", staged.get(p)!)),
        ]);
        meter.finish();
        // mtimes on the staged copies: a rename keeps them, so each path shows with its source's time from the first instant.
        if (req.preserveMtimes !== false) {
            await setMtimesFrom(
                t,
                stagedPuts.map((p): MtimeFrom => ({ localPath: sourcePath(req.source, next.kind, p), at: staged.get(p)!, symlink: typeOf(next, p) === "symlink" })),
            );
        }
        // Owned before the rename, so a file never shows at the destination with the wrong owner.
        const own = req.ownership;
        if (own && (own.owner !== undefined || own.group !== undefined)) {
            await forEachLimit(stagedPuts, COMMITS_IN_FLIGHT, (p) => t.chown(staged.get(p)!, own.owner, own.group));
            // The folders it made under the destination too (not staging's, not the state root's).
            await forEachLimit(createdNow.filter((d) => d.startsWith(destination + "/") || d === destination), COMMITS_IN_FLIGHT, (d) => t.chown(d, own.owner, own.group));
        }
        // validate with {staged}: the staged copy of a single file, before anything moves.
        if (next.kind === "file" && puts.length === 1) await validateStaged(t, hooks, staged.get(puts[0])!);

        // Hand-edited versions of drifted files, copied (linked) aside now and kept after the commit: the journal names their folder, so an undo drops it.
        if (handEdited.size) {
            req.log?.(`${req.name ?? destination}: keeping the version found on ${t.host} of ${handEdited.size} drifted file${handEdited.size === 1 ? "" : "s"} under ${keptDir}`);
            await forEachLimit([...handEdited.values()], COMMITS_IN_FLIGHT, (h) => files.keepCopy(h.target, h.keptAt));
        }

        // 2. Decide what each target's current content needs: a stat per target, skipped inside new folders.
        const putOps = stagedPuts.map((p) => ({ op: "put" as const, target: targetPath(destination, next.kind, p), slot: slotPath(next.kind, p), staged: staged.get(p)!, saved: null as "backup" | "original" | null }));
        // Folders this deployment put files or links where: removed (empty, once their content is gone) in the commit, before the puts.
        const replacedDirs: string[] = [];
        await forEachLimit(putOps, STATS_IN_FLIGHT, async (op) => {
            if (freshDirs.has(path.posix.dirname(op.target))) return;
            const st = await t.stat(op.target);
            if (!st) return;
            if (st.kind === "dir" && next.kind === "dir" && prevFolders.has(op.slot) && !nextFolders.has(op.slot)) {
                replacedDirs.push(op.target);
                return;
            }
            if (st.kind !== "file" && st.kind !== "symlink") {
                throw new DeployError(`cannot replace ${op.target} on ${t.host}: it is a ${st.kind}, not a file or symlink; move it away or exclude the path`);
            }
            // A path pulumi-delta deployed (whoever owns it) is never saved as an original; its original, if any, is saved already.
            op.saved = ledger.paths.has(op.slot) || ledger.originals.has(op.slot) ? "backup" : "original";
        });
        // Removals first, so that a folder or symlink path they free can take what the puts bring.
        for (const p of delta.removed) {
            if (typeOf(previous, p) === "dir") continue; // folders: after the commit, and only when empty
            const slot = slotPath(next.kind, p);
            ops.push({ op: "remove", target: targetPath(destination, next.kind, p), slot, restoresOriginal: ledger.originals.has(slot) });
        }
        // A file or symlink that becomes a folder: taken away like a removal (kept in backup/ until the commit).
        for (const p of dirPuts) {
            const before = previous?.entries.get(p);
            if (!before || before.type === "dir") continue;
            ops.push({ op: "remove", target: targetPath(destination, next.kind, p), slot: slotPath(next.kind, p), restoresOriginal: false });
        }
        const removeCount = ops.length;
        ops.push(...putOps);

        planned = ops;
        // 3. Commit under the journal.
        const lateDirs = folderPlan.deferred;
        journal = {
            version: 1,
            id,
            destination,
            staging,
            sameFs,
            ops,
            createdDirs: [...createdNow, ...lateDirs],
            ...(replacedDirs.length ? { removedDirs: replacedDirs } : {}),
            ...(keptDir ? { handEdited: keptDir } : {}),
        };
        await writeJournal(t, layout, journal);
        await enterPhase("journal");
        // Paths are independent, so their moves run many at a time; the journal undoes any subset.
        const commitOp = async (op: JournalOp) => {
            if (op.op === "put") {
                if (op.saved) await files.keepCopy(op.target, op.saved === "backup" ? backupPath(layout, op.slot) : `${layout.originals}/${op.slot}`);
                await t.rename(op.staged, op.target);
            } else {
                if (!(await files.exists(op.target))) return;
                await files.move(op.target, backupPath(layout, op.slot), `${backupPath(layout, op.slot)}.tmp-${id}`);
                if (op.restoresOriginal) await files.move(`${layout.originals}/${op.slot}`, op.target, `${path.posix.dirname(op.target)}/.${path.posix.basename(op.target)}.pulumi-delta-${id}`);
            }
        };
        await forEachLimit(ops.slice(0, removeCount), COMMITS_IN_FLIGHT, commitOp);
        // Folders that files or links replace, deepest first: empty now unless someone else put files there.
        for (const d of [...replacedDirs].sort((a, b) => b.split("/").length - a.split("/").length)) {
            const left = await t.readdir(d);
            if (left.length) {
                throw new DeployError(`cannot replace folder ${d} on ${t.host} with a ${typeOf(next, d.slice(destination.length + 1)) ?? "file"}: it holds ${left.length} path${left.length === 1 ? "" : "s"} pulumi-delta did not deploy (${left.slice(0, 5).join(", ")}); move them away`);
            }
            await t.rmdir(d);
            replacedDirsDone.push(d);
        }
        // Folders where a symlink or file was, parents first.
        for (const d of lateDirs) createdNow.push(...(await files.ensureDir(d, folderMode(d))));
        if (lateDirs.length && own && (own.owner !== undefined || own.group !== undefined)) await forEachLimit(lateDirs, COMMITS_IN_FLIGHT, (d) => t.chown(d, own.owner, own.group));
        await forEachLimit(ops.slice(removeCount), COMMITS_IN_FLIGHT, commitOp);
        // Folder entries: their modes (new ones were made with it, but a umask may have taken bits away).
        await applyFolderModes(t, destination, next, { only: dirPuts });
        await enterPhase("commit");
        const committed = journal;
        await runInPlaceHooks(t, hooks, () => undoJournal(t, layout, committed), (line) => req.log?.(`${req.name ?? req.destination}: ${line}`));
        // The ledger is the commit point: once it names this deployment, recovery finishes the journal instead of undoing it.
        const becameDirs = new Set(dirPuts.map((p) => slotPath(next.kind, p)));
        for (const op of ops) {
            if (op.op === "remove" && !becameDirs.has(op.slot)) settlement.removed.set(op.slot, { restoredOriginal: op.restoresOriginal });
        }
        for (const p of delta.removed) if (typeOf(previous, p) === "dir") settlement.removed.set(slotPath(next.kind, p), { restoredOriginal: false });
        await forEachLimit(putOps, STATS_IN_FLIGHT, async (op) => {
            settlement.puts.set(op.slot, { mtime: (await t.stat(op.target))?.mtime ?? 0, savedOriginal: op.saved === "original" });
        });
        const allDirs = new Set([...createdBefore, ...createdNow.filter((d) => d !== staging && !d.startsWith(staging + "/"))]);
        for (const d of replacedDirsDone) allDirs.delete(d);
        settleDeployment(ledger, me, claim, next, slotOf, { ...settlement, dirs: [...allDirs] });
        ledgerWritten = true;
        await writeLedger(t, layout, ledger);
        await enterPhase("bookkeeping");
        await t.unlink(layout.journal);
        journal = undefined;
    } catch (err) {
        if (journal && ledgerWritten) {
            throw new DeployError(
                `${(err as Error).message}; the deployment had reached its commit point, so ${layout.journal} on ${t.host} stays for the next pulumi up, which finishes or undoes it`,
            );
        }
        if (journal && !(err instanceof HookError && err.undone)) {
            await undoJournal(t, layout, journal).catch((undoErr: Error) => {
                throw new DeployError(
                    `${(err as Error).message}; undoing the partial deployment also failed (${undoErr.message}); ` +
                        `${layout.journal} on ${t.host} still names what to undo, and the next pulumi up will retry`,
                );
            });
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
    const allCreated = new Set(ledger.owners.get(me.instance)?.dirs ?? []);
    const bookkeeping = async () => {
        const removedDirEntries = delta.removed.filter((p) => typeOf(previous, p) === "dir");
        let gone: string[] = [];
        if (delta.removed.length) {
            const inTree = (d: string) => next.kind === "dir" && d.startsWith(destination + "/") && nextFolders.has(d.slice(destination.length + 1));
            const removedTargets = delta.removed.map((p) => targetPath(destination, next.kind, p));
            // Folders this resource made that held what was removed, or were removed folder entries; never one the new tree still has.
            const candidates = [...allCreated].filter((d) => !inTree(d) && removedTargets.some((r) => r === d || r.startsWith(d + "/")));
            gone = await files.removeEmptyDirs(candidates);
            const kept = candidates.filter((d) => !gone.includes(d));
            for (const d of kept.sort()) {
                const left = await t.readdir(d).catch(() => [] as string[]);
                if (left.length) req.log?.(`${req.name ?? destination}: kept folder ${d} on ${t.host}: it holds ${left.length} path${left.length === 1 ? "" : "s"} pulumi-delta did not deploy (${left.slice(0, 5).join(", ")}${left.length > 5 ? ", …" : ""})`);
            }
            // A folder entry that is gone from the manifest but still a folder of the tree went back to the default mode.
            await forEachLimit(
                removedDirEntries.filter((p) => nextFolders.has(p)),
                COMMITS_IN_FLIGHT,
                (p) => t.chmod(targetPath(destination, next.kind, p), nextFolders.get(p)!),
            );
            if (gone.length) {
                for (const d of gone) allCreated.delete(d);
                ledger.owners.get(me.instance)!.dirs = [...allCreated].sort();
                await writeLedger(t, layout, ledger);
            }
        }
        if (req.preserveMtimes !== false && next.kind === "dir") {
            const rel = (abs: string) => (abs === destination ? "" : abs.startsWith(destination + "/") ? abs.slice(destination.length + 1) : undefined);
            const dirsChanged = [...createdNow, ...gone, ...replacedDirsDone].map(rel).filter((r): r is string => r !== undefined);
            const touched = [...touchedFolders([...puts, ...delta.removed], dirsChanged)].filter((r) => r === "" || nextFolders.has(r));
            await applyFolderMtimes(t, req.source, destination, next, touched);
        }
        await index.afterCommit(previous, next, delta, destination, (line) => req.log?.(`${req.name ?? destination}: ${line}`));
        req.log?.(
            `${req.name ?? destination}: sent ${puts.length} file${puts.length === 1 ? "" : "s"} (${bytesSent} bytes), removed ${delta.removed.length} → ${t.host}:${destination}`,
        );
        return recordDeployment(t, layout, req, previous, id, startedAt, planned, new Map((driftResult?.repaired ?? []).map((r) => [slotOf(r.path), r])));
    };
    const [, record] = await Promise.all([dropUndoData(), bookkeeping()]);
    return { delta, bytesSent, createdDirs: [...allCreated].sort(), record, previous, ...(driftResult ? { drift: driftResult } : {}) };
}

/**
 * Writes the deployment's record to records/ on the host. The deployment has
 * committed by now, so a failure to write it is reported, not thrown.
 */
async function recordDeployment(
    t: Transport,
    layout: HostLayout,
    req: DeployRequest,
    previous: Manifest,
    id: string,
    startedAt: string,
    ops: JournalOp[],
    repaired: Map<string, RepairedPath>,
): Promise<DeployResult["record"]> {
    const changes: RecordChange[] = [];
    const rollback: RecordRollback[] = [];
    for (const op of [...ops].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0))) {
        const r = repaired.get(op.slot);
        const drift = r ? { drift: r.drift, ...(r.handEdited ? { handEdited: r.handEdited } : {}) } : {};
        if (op.op === "put") {
            const e = req.next.kind === "file" ? [...req.next.entries.values()][0] : req.next.entries.get(op.slot)!;
            changes.push({ file: op.target, action: op.saved ? "update" : "create", sha256: e.sha256, bytes: e.size, ...drift });
            rollback.push(
                op.saved
                    ? { file: op.target, action: "restore", backup: op.saved === "original" ? `${layout.originals}/${op.slot}` : r?.handEdited ?? null }
                    : { file: op.target, action: "delete", backup: null },
            );
        } else if (op.restoresOriginal) {
            changes.push({ file: op.target, action: "update", ...(await hashOnHost(t, op.target)), ...drift });
            rollback.push({ file: op.target, action: "restore", backup: r?.handEdited ?? null });
        } else {
            const e = previous?.kind === "file" ? [...previous.entries.values()][0] : previous?.entries.get(op.slot);
            changes.push({ file: op.target, action: "delete", sha256: e?.sha256 ?? null, bytes: e?.size ?? null, ...drift });
            rollback.push({ file: op.target, action: "restore", backup: r?.handEdited ?? null });
        }
    }
    const saved = await saveRecord(t, layout, { id, operation: "deploy", time: startedAt, destination: req.destination, owner: { ...req.owner, instance: (req.identity ?? DIRECT_CALLER).instance }, name: req.name, changes, rollback }, req.log);
    return saved ? lastRecordOf(saved.record, saved.path) : undefined;
}
