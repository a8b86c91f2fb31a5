import type { Transport } from "../../transport";
import { dropLargeFileIndex } from "../chunkIndex";
import { HostFiles } from "../hostFiles";
import type { Hooks } from "../hooks";
import { runHook, hookFailure } from "../hooks";
import { readLedger, stackName, DIRECT_CALLER, OwnerId } from "../ledger";
import { newRecordId, RecordChange, RecordOwner, saveRecord } from "../records";
import { checkOwner, openReleases } from "./deploy";
import { releasePath } from "./layout";
import { readLink } from "./link";
import { undoRemove } from "./recover";
import { readReleaseManifest, readReleasesState, writeReleasesJournal } from "./state";

export interface ReleasesRemoveRequest {
    destination: string;
    stateDir?: string;
    /**
     * What `destination` becomes: "original" puts back what was there before
     * the first release (a folder byte for byte, or nothing); "release" leaves
     * the live release's files there as a plain folder (onDestroy "retain").
     */
    leaves: "original" | "release";
    /** "destroy" (runs onChange after, writes a destroy record) or "inPlace" (a switch of strategy: an inPlace deployment follows). */
    why: "destroy" | "inPlace";
    hooks?: Hooks;
    identity?: OwnerId;
    owner?: RecordOwner;
    name?: string;
    log?: (line: string) => void;
}

/**
 * Ends the releases of a destination: `destination` gets the original back
 * (or keeps the live release's files as a plain folder), then the releases
 * and their bookkeeping go. A folder cannot be renamed over a symlink, so
 * `destination` is absent between removing the symlink and the rename of the
 * folder into its place; the log says so.
 */
export async function removeReleases(t: Transport, req: ReleasesRemoveRequest): Promise<{ restored: boolean }> {
    const name = req.name ?? req.destination;
    const say = (line: string) => req.log?.(`${name}: ${line}`);
    const me = req.identity ?? DIRECT_CALLER;
    const { hostLayout, l, unlock } = await openReleases(t, req.stateDir, req.destination, { stack: stackName(me), resource: me.urn ?? name }, say);
    let restored = false;
    try {
        const state = await readReleasesState(t, l);
        if (!state) {
            say(`no releases of ${req.destination} on ${t.host}; nothing to remove`);
            return { restored };
        }
        try {
            checkOwner(t, l, state, me);
        } catch (err) {
            // As a destroy of paths another deployment took over: nothing of this one's to undo.
            say(`${(err as Error).message.replace(/^refused before anything moved on [^:]+: /, "")}; nothing of this deployment's to remove`);
            return { restored };
        }
        const journal = { version: 1 as const, op: "remove" as const, why: req.why, leaves: req.leaves };
        await writeReleasesJournal(t, l, journal);
        const live = state.current ? releasePath(l, state.current) : undefined;
        const liveManifest = state.current ? await readReleaseManifest(t, l, state.current).catch(() => undefined) : undefined;
        try {
            if ((await readLink(t, req.destination)) !== undefined) {
                const what = req.leaves === "release" ? `the live release's files (${live})` : state.original === "folder" ? `the original folder (${l.original})` : "nothing (there was nothing before the first release)";
                say(`${req.destination} is absent for one rename: the symlink goes, then ${what} takes its place`);
                await t.unlink(req.destination);
            }
            if (req.leaves === "release" && live && (await t.stat(live))?.kind === "dir") await t.rename(live, req.destination);
            else if (req.leaves === "original" && state.original === "folder" && (await t.stat(l.original))?.kind === "dir") {
                await t.rename(l.original, req.destination);
                restored = true;
            }
            if (req.why === "destroy" && req.hooks?.onChange) {
                const run = await runHook(t, req.hooks.onChange, req.hooks.timeoutMs);
                if (!run.ok) throw new Error(`${hookFailure(t, "onChange", req.hooks.onChange, run)}\n${req.destination} points at release ${state.current} again`);
                say("onChange hook ran");
            }
        } catch (err) {
            await undoRemove(t, l, state, journal).catch(() => undefined);
            throw err;
        }
        // Commit: the state goes; the releases and what only they needed follow.
        await t.unlink(l.state);
        await t.unlink(l.journal);
        await t.removeTree(l.root);
        await t.removeTree(l.manifests);
        await new HostFiles(t, true).removeEmptyDirs(state.createdDirs);
        if (!(await readLedger(t, hostLayout))) await dropLargeFileIndex(t, hostLayout);
        if (req.why === "destroy") {
            const changes: RecordChange[] = [...(liveManifest?.entries ?? [])].map(([p, e]) => ({ file: `${req.destination}/${p}`, action: "delete" as const, sha256: e.sha256, bytes: e.size }));
            await saveRecord(t, hostLayout, { id: newRecordId(), operation: "destroy", time: new Date().toISOString(), destination: req.destination, owner: { ...req.owner, instance: me.instance }, name: req.name, changes, rollback: [] }, req.log);
        }
        say(
            req.leaves === "release"
                ? `kept the live release's files at ${req.destination} as a plain folder; removed the releases`
                : `${restored ? "put the original folder back at" : "left nothing at"} ${req.destination} (as before the first release); removed ${state.releases.length} release${state.releases.length === 1 ? "" : "s"}`,
        );
    } finally {
        await unlock();
    }
    if ((await t.readdir(hostLayout.folder).catch(() => ["?"])).length === 0) await t.rmdir(hostLayout.folder).catch(() => undefined);
    return { restored };
}

