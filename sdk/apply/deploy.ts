import * as path from "path";
import { diffManifests, foldersOf, manifestDigest } from "../manifest";
import type { Transport } from "../transport";
import { LargeFileIndex } from "./chunkIndex";
import { Claim, conflictMessage, planClaim, settleDeployment, Settlement } from "./claims";
import { COMMITS_IN_FLIGHT, DeltaPlan, DeltaRun, typeOf } from "./deltaPlan";
import { finishDeployment } from "./deployFinish";
import { DeployError, DeployRequest, DeployResult } from "./deployRequest";
import { stageDelta } from "./deployStage";
import { STATS_IN_FLIGHT } from "./hostCheck";
import { HookError, runInPlaceHooks } from "./hooks";
import { HostFiles } from "./hostFiles";
import { JournalOp, undoJournal, writeJournal } from "./journal";
import { backupPath, checkStateRootApart, destinationKey, handEditedPath, HostLayout, layoutFor, resolveStateRoot, slotPath, targetPath } from "./layout";
import { claimFromState, DIRECT_CALLER, Ledger, openLedger, stackName, writeLedger } from "./ledger";
import { acquireLock } from "./lock";
import { enterPhase } from "./phases";
import { forEachLimit } from "./pool";
import { newRecordId } from "./records";
import { describeDriftPlan, DriftPlan, planDriftRepair, verifyTakenOver } from "./recheck";
import { recoverDestination } from "./recovery";
import { applyFolderModes } from "./tree";

export { DeployError } from "./deployRequest";
export type { DeployRequest, DeployResult } from "./deployRequest";

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

    const plan: DeltaPlan = { t, layout, req, id, startedAt, previous, delta, staging, sameFs, files, index, puts, stagedPuts, filePuts, dirPuts, prevFolders, nextFolders, putBytes, handEdited };
    const run: DeltaRun = { createdNow: [], replacedDirsDone: [], bytesSent: 0 };
    const { createdNow, replacedDirsDone } = run;
    const ops: JournalOp[] = [];
    let ledgerWritten = false;
    try {
        // 1. Stage: nothing at the destination changes yet.
        const { staged, freshDirs, lateDirs, folderMode, keptDir } = await stageDelta(plan, run);
        const own = req.ownership;

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

        // 3. Commit under the journal.
        run.journal = {
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
        await writeJournal(t, layout, run.journal);
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
        const committed = run.journal;
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
        run.journal = undefined;
    } catch (err) {
        if (run.journal && ledgerWritten) {
            throw new DeployError(
                `${(err as Error).message}; the deployment had reached its commit point, so ${layout.journal} on ${t.host} stays for the next pulumi up, which finishes or undoes it`,
            );
        }
        if (run.journal && !(err instanceof HookError && err.undone)) {
            await undoJournal(t, layout, run.journal).catch((undoErr: Error) => {
                throw new DeployError(
                    `${(err as Error).message}; undoing the partial deployment also failed (${undoErr.message}); ` +
                        `${layout.journal} on ${t.host} still names what to undo, and the next pulumi up will retry`,
                );
            });
        }
        throw err;
    }

    const { record, createdDirs } = await finishDeployment(plan, run, ledger, me, ops, driftResult?.repaired ?? []);
    return { delta, bytesSent: run.bytesSent, createdDirs, record, previous, ...(driftResult ? { drift: driftResult } : {}) };
}
