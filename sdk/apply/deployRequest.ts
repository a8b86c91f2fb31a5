import type { Manifest, ManifestDelta } from "../manifest";
import type { Hooks } from "./hooks";
import type { Ownership } from "./hostFiles";
import type { OwnerId } from "./ledger";
import type { lastRecordOf, RecordOwner } from "./records";
import type { RepairedPath } from "./recheck";

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
