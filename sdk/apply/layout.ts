import * as crypto from "crypto";
import * as path from "path";
import type { Transport } from "../transport";

/**
 * Where a deployment keeps its own files on the host: one folder per
 * destination under the state root, never inside or beside the destination.
 */
export interface HostLayout {
    stateRoot: string;
    /** `<stateRoot>/<first 16 hex of sha256(destination)>` */
    folder: string;
    /** Pre-deployment content of files a deployment overwrote or deleted; kept until destroy. */
    originals: string;
    /** The previous deployed version of files during one update; dropped when it commits. */
    backup: string;
    /** One JSON record per deployment; survives destroy. */
    records: string;
    /** Present only while a deployment commits; names what to undo after a crash. */
    journal: string;
    /** A file whose holder (a live run) is deploying or destroying; a dead holder's lock is broken by the next run. */
    lock: string;
    /** Who owns each deployed path, the saved originals, created folders: see `Ledger`. */
    ledger: string;
    /**
     * What patching a large file needs from the host, kept per destination
     * (so the lock covers it and destroy drops it with one removal):
     * `<sha256>.pdc1`, the chunk list of each large file version deployed
     * here, by file hash; `<first 32 hex of sha256(target path)>.stamp`, the
     * size and mtime the host gave that path's large file right after commit.
     * A chunk list goes once no path of the destination holds that version.
     */
    chunks: string;
    /** `<deployment id>/<slot>`: the version found on the host of each drifted file a deployment rewrote or removed (see `DeployRequest.drifted`); kept, like records, until removed by hand. */
    drift: string;
}

export const DEFAULT_ROOT_STATE_DIR = "/var/lib/pulumi-delta";
export const DEFAULT_USER_STATE_DIR = "~/.local/state/pulumi-delta";

export function destinationKey(destination: string): string {
    return crypto.createHash("sha256").update(destination).digest("hex").slice(0, 16);
}

export function layoutFor(stateRoot: string, destination: string): HostLayout {
    const folder = path.posix.join(stateRoot, destinationKey(destination));
    return {
        stateRoot,
        folder,
        originals: `${folder}/originals`,
        backup: `${folder}/backup`,
        records: `${folder}/records`,
        journal: `${folder}/journal.json`,
        lock: `${folder}/lock`,
        ledger: `${folder}/ledger.json`,
        chunks: `${folder}/chunks`,
        drift: `${folder}/drift`,
    };
}

/** The state root for this host: `stateDir` if given (a leading `~/` is the login user's home), else the default by user. */
export async function resolveStateRoot(t: Transport, stateDir: string | undefined): Promise<string> {
    const dir = stateDir ?? ((await t.isRoot()) ? DEFAULT_ROOT_STATE_DIR : DEFAULT_USER_STATE_DIR);
    if (dir === "~" || dir.startsWith("~/")) return path.posix.join(await t.homeDir(), dir.slice(1));
    return dir;
}

/** Where the file at manifest path `p` lands: the destination itself for a single-file source. */
export function targetPath(destination: string, kind: "dir" | "file", p: string): string {
    return kind === "file" ? destination : path.posix.join(destination, p);
}

/** The name under originals/ and backup/: the manifest path, or a fixed name for a single file. */
export function slotPath(kind: "dir" | "file", p: string): string {
    return kind === "file" ? "file" : p;
}

/** The host's copy of the chunk list of the large file whose content hashes to `sha256`. */
export function hostChunkListPath(layout: HostLayout, sha256: string): string {
    return `${layout.chunks}/${sha256}.pdc1`;
}

/** Where the size and mtime of the large file at `target` (on the host, after commit) are kept. */
export function stampPath(layout: HostLayout, target: string): string {
    return `${layout.chunks}/${crypto.createHash("sha256").update(target).digest("hex").slice(0, 32)}.stamp`;
}

/** Where deployment `id` keeps the hand-edited version of `slot` (without `slot`: the deployment's folder of them). */
export function handEditedPath(layout: HostLayout, id: string, slot?: string): string {
    return slot === undefined ? `${layout.drift}/${id}` : `${layout.drift}/${id}/${slot}`;
}

/**
 * Where one path's previous version waits during an update: a flat name in
 * backup/ (no folders to create per file, nothing to walk to drop them).
 */
export function backupPath(layout: HostLayout, slot: string): string {
    return `${layout.backup}/${crypto.createHash("sha256").update(slot).digest("hex").slice(0, 32)}`;
}

function isInside(child: string, parent: string): boolean {
    const rel = path.posix.relative(parent, child);
    return rel === "" || (!rel.startsWith("..") && !path.posix.isAbsolute(rel));
}

/** Whether one absolute host path is the other or lies inside it. */
export function pathsOverlap(a: string, b: string): boolean {
    return isInside(a, b) || isInside(b, a);
}

/**
 * The state root as resolved on the host (a `~/…` or default `stateDir` is
 * known only there) must not overlap the destination: a service reading the
 * destination would see our metadata, or a deployment would write into its
 * own records. Checked before anything is written.
 */
export function checkStateRootApart(host: string, stateDir: string | undefined, stateRoot: string, destination: string): void {
    if (!pathsOverlap(stateRoot, destination)) return;
    const given = stateDir === undefined ? `stateDir (default, ${stateRoot} on ${host})` : `stateDir ${JSON.stringify(stateDir)} (${stateRoot} on ${host})`;
    throw new Error(
        `${given} and destination ${JSON.stringify(destination)} overlap; keep deployment metadata outside what services read: set stateDir to a folder apart from the destination, e.g. "/var/lib/pulumi-delta"`,
    );
}
