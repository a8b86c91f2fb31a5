import { decodeManifest, encodeManifest, Manifest } from "../../manifest";
import type { Transport } from "../../transport";
import { writeFileAtomically } from "../atomicFile";
import type { OwnerId } from "../ledger";
import type { ReleaseEntry } from "./plan";
import { manifestPath, ReleasesLayout } from "./layout";

/** What `releases.json` under `stateDir` says about one destination deployed with `strategy: "releases"`. */
export interface ReleasesState {
    version: 1;
    destination: string;
    /** The folder holding the release folders (see ReleasesLayout.root). */
    root: string;
    /** The live release (the one `destination` points at). */
    current: string | null;
    /** What was at `destination` before the first release: a folder (kept at `<root>/original`) or nothing. */
    original: "folder" | "none";
    /** Folders the first release had to create above the releases folder (absolute), removed again by destroy. */
    createdDirs: string[];
    releases: ReleaseEntry[];
    /** The resource whose releases these are (absent in a state written before it was recorded). */
    owner?: OwnerId;
}

export async function readReleasesState(t: Transport, l: ReleasesLayout): Promise<ReleasesState | undefined> {
    if (!(await t.stat(l.state))) return undefined;
    const s = JSON.parse((await t.readFile(l.state)).toString("utf8")) as ReleasesState;
    if (s.version !== 1) throw new Error(`${l.state} on ${t.host} has version ${String(s.version)}, which this version of pulumi-delta cannot read; upgrade pulumi-delta`);
    return s;
}

/** Written beside and renamed over the old one: the write of the state that names a new `current` is a deployment's commit point. */
export async function writeReleasesState(t: Transport, l: ReleasesLayout, s: ReleasesState): Promise<void> {
    await writeFileAtomically(t, l.state, JSON.stringify(s, null, 1) + "\n", 0o600);
}

export async function writeReleaseManifest(t: Transport, l: ReleasesLayout, id: string, m: Manifest): Promise<void> {
    await t.mkdirp(l.manifests, 0o700);
    await t.writeFile(manifestPath(l, id), encodeManifest(m), 0o600);
}

export async function readReleaseManifest(t: Transport, l: ReleasesLayout, id: string): Promise<Manifest> {
    return decodeManifest((await t.readFile(manifestPath(l, id))).toString("utf8"));
}

/** What a run does on the host, written before it starts so that a killed run is finished or undone by the next. */
export type ReleasesJournal =
    | {
          version: 1;
          op: "deploy";
          /** The release going live. */
          id: string;
          /** True when this run builds it (false: a kept release goes live again). */
          built: boolean;
          /** The live release before (null on the first activation). */
          previous: string | null;
          /** "build" until the release is complete; "flip" from just before `destination` changes. */
          phase: "build" | "flip";
          /** Where this run keeps the hand-edited versions of drifted files (absent: none): dropped by an undo. */
          handEdited?: string;
      }
    | {
          version: 1;
          op: "remove";
          /** Why: a destroy, or a switch back to `strategy: "inPlace"`. */
          why: "destroy" | "inPlace";
          /** What `destination` gets: the original put back, or the live release's files as a plain folder ("retain"). */
          leaves: "original" | "release";
      };

export async function writeReleasesJournal(t: Transport, l: ReleasesLayout, j: ReleasesJournal): Promise<void> {
    await writeFileAtomically(t, l.journal, JSON.stringify(j), 0o600);
}

export async function readReleasesJournal(t: Transport, l: ReleasesLayout): Promise<ReleasesJournal | undefined> {
    if (!(await t.stat(l.journal))) return undefined;
    const j = JSON.parse((await t.readFile(l.journal)).toString("utf8")) as ReleasesJournal;
    if (j.version !== 1) throw new Error(`${l.journal} on ${t.host} has version ${String(j.version)}, which this version of pulumi-delta cannot undo`);
    return j;
}
