import * as path from "path";
import { Manifest, sortedPaths } from "../manifest";
import type { Transport } from "../transport";
import { HostFiles } from "./hostFiles";
import { readJournal, undoJournal } from "./journal";
import { layoutFor, resolveStateRoot, slotPath, targetPath } from "./layout";
import { acquireLock } from "./lock";
import { forEachLimit } from "./pool";

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
}

export interface DestroyResult {
    restored: number;
    removed: number;
}

/**
 * Ends a deployment. "restore" puts back every file it overwrote and removes
 * what it created; "remove" removes every deployed file; "retain" leaves
 * them. In every case the deployment's originals, backups and staging go;
 * its records stay.
 */
export async function destroy(t: Transport, req: DestroyRequest): Promise<DestroyResult> {
    const layout = layoutFor(await resolveStateRoot(t, req.stateDir), req.destination);
    await t.mkdirp(layout.folder, 0o700);
    const release = await acquireLock(t, layout);
    const result: DestroyResult = { restored: 0, removed: 0 };
    try {
        const leftover = await readJournal(t, layout);
        if (leftover) await undoJournal(t, layout, leftover);
        if (req.onDestroy !== "retain") {
            const { kind } = req.deployed;
            const destDir = kind === "file" ? path.posix.dirname(req.destination) : req.destination;
            const [a, b] = await Promise.all([t.space(layout.folder), t.stat(destDir).then((st) => (st ? t.space(destDir) : undefined))]);
            const files = new HostFiles(t, a.fsid !== undefined && a.fsid === b?.fsid);
            await forEachLimit(sortedPaths(req.deployed), 32, async (p) => {
                const target = targetPath(req.destination, kind, p);
                const original = `${layout.originals}/${slotPath(kind, p)}`;
                if (req.onDestroy === "restore" && (await files.exists(original))) {
                    await files.move(original, target, `${path.posix.dirname(target)}/.${path.posix.basename(target)}.pulumi-delta-restore`);
                    result.restored++;
                    return;
                }
                const st = await t.stat(target);
                if (st?.kind === "file") {
                    await t.unlink(target);
                    result.removed++;
                }
            });
            await files.removeEmptyDirs(req.createdDirs);
        }
        await t.removeTree(layout.originals);
        await t.removeTree(layout.backup);
        for (const name of await t.readdir(layout.folder)) {
            if (name.startsWith("staging-")) await t.removeTree(`${layout.folder}/${name}`);
        }
    } finally {
        await release();
    }
    // Records stay (they are the audit trail); an otherwise empty folder goes.
    if ((await t.readdir(layout.folder)).length === 0) await t.rmdir(layout.folder);
    req.log?.(`${req.name ?? req.destination}: ${req.onDestroy}: ${result.restored} restored, ${result.removed} removed on ${t.host}:${req.destination}`);
    return result;
}
