import * as path from "path";
import type { Transport } from "../../transport";
import { HostFiles } from "../hostFiles";
import { ORIGINAL, releasePath, manifestPath, ReleasesLayout, TEMP_LINK_PREFIX } from "./layout";
import { pointAt, readLink } from "./link";
import { stampsPath } from "./stamps";
import { readReleasesJournal, readReleasesState, ReleasesJournal, ReleasesState } from "./state";

type DeployJournal = Extract<ReleasesJournal, { op: "deploy" }>;
type RemoveJournal = Extract<ReleasesJournal, { op: "remove" }>;

/**
 * Puts `destination` back on the release that was live before the journal's
 * run (or, on a first activation, the original folder back in place), and
 * drops the release the run was building. Judges from the host what had
 * happened, so it serves a failure in this process and a killed run alike;
 * running it twice is harmless.
 */
export async function undoDeploy(t: Transport, l: ReleasesLayout, state: ReleasesState | undefined, j: DeployJournal): Promise<void> {
    const link = await readLink(t, l.destination);
    if (j.previous) {
        const previous = releasePath(l, j.previous);
        if (link !== previous) await pointAt(t, l, previous, `${j.id}-back`);
    } else {
        if (link !== undefined) await t.unlink(l.destination);
        if (state?.original === "folder" && !(await t.stat(l.destination)) && (await t.stat(l.original))?.kind === "dir") await t.rename(l.original, l.destination);
    }
    if (j.handEdited) {
        await t.removeTree(j.handEdited);
        // drift/ itself when this run made it (another run's hand edits keep it).
        await t.rmdir(path.posix.dirname(j.handEdited)).catch(() => undefined);
    }
    if (j.built) {
        await t.removeTree(releasePath(l, j.id));
        await t.unlink(manifestPath(l, j.id)).catch(() => undefined);
        await t.unlink(stampsPath(l, j.id)).catch(() => undefined);
    }
    if (!j.previous && !state?.releases.length) {
        // A first release that never went live leaves the host as it found it: no releases folder, no state.
        await t.rmdir(l.root).catch(() => undefined);
        await t.rmdir(l.manifests).catch(() => undefined);
        if (state) await new HostFiles(t, true).removeEmptyDirs(state.createdDirs);
        await t.unlink(l.state).catch(() => undefined);
    }
    await t.unlink(l.journal);
}

/** Puts back what an unfinished removal (destroy, switch to inPlace) took away: `destination` points at the live release again. */
export async function undoRemove(t: Transport, l: ReleasesLayout, state: ReleasesState, j: RemoveJournal): Promise<void> {
    if (!state.current) {
        await t.unlink(l.journal);
        return;
    }
    const live = releasePath(l, state.current);
    const st = await t.stat(l.destination);
    if (st?.kind === "dir") {
        if (j.leaves === "release" && !(await t.stat(live))) await t.rename(l.destination, live);
        else if (j.leaves === "original" && state.original === "folder" && !(await t.stat(l.original))) await t.rename(l.destination, l.original);
    }
    if ((await readLink(t, l.destination)) !== live) await pointAt(t, l, live, "undo");
    await t.unlink(l.journal);
}

/**
 * What a killed run left, put right by the next one under the lock: a run
 * whose state names its release as live had committed (only its journal
 * goes); any other is undone, so `destination` never points at a release
 * that was not completed. Release folders no state names (half built,
 * never activated) and temporary links go. Returns what it did, for the log.
 */
export async function recoverReleases(t: Transport, l: ReleasesLayout): Promise<string[]> {
    const said: string[] = [];
    const j = await readReleasesJournal(t, l);
    let state = await readReleasesState(t, l);
    if (j?.op === "deploy") {
        if (state?.current === j.id) {
            await t.unlink(l.journal);
            said.push(`finished an interrupted run that had activated release ${j.id}`);
        } else {
            await undoDeploy(t, l, state, j);
            said.push(`undid an interrupted run found in ${l.journal}: ${j.previous ? `destination points at release ${j.previous} again` : "destination is as it was before the first release"}${j.built ? `, the unfinished release ${j.id} is removed` : ""}`);
        }
    } else if (j?.op === "remove") {
        if (!state) {
            await t.removeTree(l.root);
            await t.removeTree(l.manifests);
            await t.unlink(l.journal);
            said.push("finished an interrupted removal of the releases");
        } else {
            await undoRemove(t, l, state, j);
            said.push(`undid an interrupted removal of the releases: destination points at release ${state.current} again`);
        }
    }
    state = await readReleasesState(t, l);
    let leaked = 0;
    if (state && (await t.stat(l.root))?.kind === "dir") {
        const known = new Set([...state.releases.map((r) => r.id), ORIGINAL]);
        for (const name of await t.readdir(l.root)) {
            if (known.has(name)) continue;
            await t.removeTree(`${l.root}/${name}`);
            await t.unlink(manifestPath(l, name)).catch(() => undefined);
            await t.unlink(stampsPath(l, name)).catch(() => undefined);
            leaked++;
        }
    }
    const beside = path.posix.dirname(l.destination);
    const prefix = `${TEMP_LINK_PREFIX}${path.posix.basename(l.destination)}-`;
    for (const name of await t.readdir(beside).catch(() => [] as string[])) {
        if (name.startsWith(prefix)) await t.unlink(`${beside}/${name}`).catch(() => undefined);
    }
    if (leaked) said.push(`removed ${leaked} release folder${leaked === 1 ? "" : "s"} that never went live`);
    return said;
}
