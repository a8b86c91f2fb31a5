import type { Manifest, ManifestDelta } from "../manifest";
import type { Transport } from "../transport";
import type { LargeFileIndex } from "./chunkIndex";
import type { DeployRequest } from "./deployRequest";
import type { HostFiles } from "./hostFiles";
import type { Journal } from "./journal";
import type { HostLayout } from "./layout";

/** Host requests in flight when each is small (a rename, a chown, an unlink, a folder). */
export const COMMITS_IN_FLIGHT = 64;

/** A drifted file's hand-edited version on the host, kept aside past the commit. */
export interface HandEdited {
    target: string;
    size: number;
    keptAt: string;
}

/**
 * What an in-place deployment moves, decided before anything on the host
 * changes; staging, the commit and the clean-up after it all read it.
 */
export interface DeltaPlan {
    t: Transport;
    layout: HostLayout;
    req: DeployRequest;
    /** The deployment's id (record, journal, staging folder) and when it started. */
    id: string;
    startedAt: string;
    /** What the deployment builds on (the ledger's view) and what changes from it. */
    previous: Manifest;
    delta: ManifestDelta;
    /** Where files are staged: on the destination's filesystem, so the final rename is atomic. */
    staging: string;
    /** Whether the state folder shares the destination's filesystem (then backups are hard links). */
    sameFs: boolean;
    files: HostFiles;
    index: LargeFileIndex;
    /** Added and changed paths; of those, the files and links staged and renamed into place, the files alone, and the folder entries. */
    puts: string[];
    stagedPuts: string[];
    filePuts: string[];
    dirPuts: string[];
    /** Folders of each tree, with their modes. */
    prevFolders: Map<string, number>;
    nextFolders: Map<string, number>;
    putBytes: number;
    handEdited: Map<string, HandEdited>;
}

/** What the deployment has done on the host so far: what its undo, its ledger entry and its report need. */
export interface DeltaRun {
    /** Folders it created (staging's included). */
    createdNow: string[];
    /** Folders it removed because files or links took their place. */
    replacedDirsDone: string[];
    bytesSent: number;
    /** The journal on the host while one is there: a failure undoes it. */
    journal?: Journal;
}

/** A path's entry type in `m` (undefined for a single-file manifest, where there is one file). */
export function typeOf(m: Manifest | undefined, p: string) {
    return m?.kind === "file" ? undefined : m?.entries.get(p)?.type;
}
