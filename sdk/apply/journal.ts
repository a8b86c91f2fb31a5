import * as path from "path";
import type { Transport } from "../transport";
import { writeFileAtomically } from "./atomicFile";
import { HostFiles } from "./hostFiles";
import { backupPath, HostLayout } from "./layout";

/** Put a staged file at `target`; what was there is first kept in backup/ or originals/ (`saved`). */
export interface PutOp {
    op: "put";
    target: string;
    slot: string;
    staged: string;
    saved: "backup" | "original" | null;
}

/** Take a deployed file away (kept in backup/); when it had an original, put that back. */
export interface RemoveOp {
    op: "remove";
    target: string;
    slot: string;
    restoresOriginal: boolean;
}

export type JournalOp = PutOp | RemoveOp;

/**
 * Written to the host before the first file moves and removed once the last
 * has: while it exists, the destination may be half old, half new, and it
 * holds what is needed to put the old half back.
 */
export interface Journal {
    version: 1;
    id: string;
    destination: string;
    staging: string;
    sameFs: boolean;
    ops: JournalOp[];
    /** Directories this deployment created, to remove again if it is undone. */
    createdDirs: string[];
    /** Folders this deployment removed to put a file or symlink at their path (empty by then), made again if it is undone. */
    removedDirs?: string[];
    /** The folder holding the hand-edited versions of drifted files this deployment rewrites (kept once it commits, removed if it is undone). */
    handEdited?: string;
}

export async function writeJournal(t: Transport, layout: HostLayout, j: Journal): Promise<void> {
    await writeFileAtomically(t, layout.journal, JSON.stringify(j), 0o600);
}

export async function readJournal(t: Transport, layout: HostLayout): Promise<Journal | undefined> {
    if (!(await t.stat(layout.journal))) return undefined;
    const j = JSON.parse((await t.readFile(layout.journal)).toString("utf8")) as Journal;
    if (j.version !== 1) throw new Error(`${layout.journal} on ${t.host} has version ${String(j.version)}, which this version of pulumi-delta cannot undo`);
    return j;
}

function tempNear(target: string, id: string): string {
    return path.posix.join(path.posix.dirname(target), `.${path.posix.basename(target)}.pulumi-delta-${id}`);
}

/**
 * Puts the destination back as it was before the journal's deployment,
 * judging from the host itself which operations had happened (a staged file
 * that is gone was moved into place). Used both after a failure in this
 * process and for a journal left by a crash; running it twice is harmless.
 */
export async function undoJournal(t: Transport, layout: HostLayout, j: Journal): Promise<void> {
    const files = new HostFiles(t, j.sameFs);
    // Puts first, then the folders they needed, then what the removals took: a folder made where a symlink was must be gone before the link comes back.
    const reversed = [...j.ops].reverse();
    for (const op of reversed) {
        if (op.op !== "put") continue;
        const done = !(await files.exists(op.staged));
        const keptAt = op.saved === "backup" ? backupPath(layout, op.slot) : `${layout.originals}/${op.slot}`;
        if (done) {
            if (op.saved && (await files.exists(keptAt))) await files.move(keptAt, op.target, tempNear(op.target, j.id));
            else if (!op.saved && (await files.exists(op.target))) await t.unlink(op.target);
        } else if (op.saved === "original" && (await files.exists(keptAt))) {
            // The target still holds its original; the copy in originals/ was only a precaution.
            await t.unlink(keptAt);
        }
    }
    await files.removeEmptyDirs(j.createdDirs);
    for (const d of [...(j.removedDirs ?? [])].sort((a, b) => a.split("/").length - b.split("/").length)) {
        if (!(await files.exists(d))) await t.mkdirp(d);
    }
    for (const op of reversed) {
        if (op.op === "put") continue;
        const backup = backupPath(layout, op.slot);
        const original = `${layout.originals}/${op.slot}`;
        if (!(await files.exists(backup))) {
            // Nothing was taken away (the target was already gone), but an original may have been moved in: put it back.
            if (op.restoresOriginal && !(await files.exists(original)) && (await files.exists(op.target))) {
                await files.move(op.target, original, `${layout.originals}/.tmp-${j.id}`);
            }
            continue;
        }
        if (op.restoresOriginal && !(await files.exists(original)) && (await files.exists(op.target))) {
            await files.move(op.target, original, `${layout.originals}/.tmp-${j.id}`);
        }
        await files.move(backup, op.target, tempNear(op.target, j.id));
    }
    if (j.handEdited) {
        await t.removeTree(j.handEdited);
        await t.rmdir(layout.drift).catch(() => undefined); // stays while earlier deployments' versions are in it
    }
    await t.removeTree(j.staging);
    await t.removeTree(layout.backup);
    await t.unlink(layout.journal);
}
