import { COMMITS_IN_FLIGHT, DeltaPlan, DeltaRun, typeOf } from "./deltaPlan";
import { recordDeployment } from "./deployRecord";
import type { DeployResult } from "./deployRequest";
import type { JournalOp } from "./journal";
import { backupPath, slotPath, targetPath } from "./layout";
import { Ledger, OwnerId, writeLedger } from "./ledger";
import { forEachLimit } from "./pool";
import type { RepairedPath } from "./recheck";
import { applyFolderMtimes, touchedFolders } from "./tree";

/**
 * After the commit: drops what only an undo would have needed (freeing a
 * large backup takes the filesystem a while) alongside the bookkeeping —
 * the folders the removals emptied, folder mtimes, the large-file index, the
 * record. Returns the record and the folders this resource's deployments
 * created that still exist.
 */
export async function finishDeployment(
    plan: DeltaPlan,
    run: DeltaRun,
    ledger: Ledger,
    me: OwnerId,
    ops: JournalOp[],
    repaired: RepairedPath[],
): Promise<{ record: DeployResult["record"]; createdDirs: string[] }> {
    const { t, layout, req, id, startedAt, previous, delta, staging, files, index, puts, nextFolders } = plan;
    const { next, destination } = req;
    const slotOf = (p: string) => slotPath(next.kind, p);
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
            const dirsChanged = [...run.createdNow, ...gone, ...run.replacedDirsDone].map(rel).filter((r): r is string => r !== undefined);
            const touched = [...touchedFolders([...puts, ...delta.removed], dirsChanged)].filter((r) => r === "" || nextFolders.has(r));
            await applyFolderMtimes(t, req.source, destination, next, touched);
        }
        await index.afterCommit(previous, next, delta, destination, (line) => req.log?.(`${req.name ?? destination}: ${line}`));
        req.log?.(
            `${req.name ?? destination}: sent ${puts.length} file${puts.length === 1 ? "" : "s"} (${run.bytesSent} bytes), removed ${delta.removed.length} → ${t.host}:${destination}`,
        );
        return recordDeployment(t, layout, req, previous, id, startedAt, ops, new Map(repaired.map((r) => [slotOf(r.path), r])));
    };
    const [, record] = await Promise.all([dropUndoData(), bookkeeping()]);
    return { record, createdDirs: [...allCreated].sort() };
}
