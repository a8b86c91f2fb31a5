import * as path from "path";
import { diffManifests, Manifest, ManifestDelta, manifestDigest, totalBytes } from "../../manifest";
import type { Transport } from "../../transport";
import { LargeFileIndex } from "../chunkIndex";
import type { Hooks } from "../hooks";
import type { Ownership } from "../hostFiles";
import { checkStateRootApart, handEditedPath, HostLayout, layoutFor, resolveStateRoot } from "../layout";
import { DIRECT_CALLER, OwnerId, readLedger, sameResource, stackName } from "../ledger";
import { acquireLock } from "../lock";
import { recoverDestination } from "../recovery";
import { enterPhase } from "../phases";
import { lastRecordOf, newRecordId, RecordChange, RecordOwner, RecordRollback, saveRecord } from "../records";
import { buildRelease } from "./build";
import { describeDestinationProblem, destinationProblem, ReleaseDamage } from "./drift";
import { damageOfKept, dropRelease, keepHandEdited, recheckDrifted, repairKept } from "./repair";
import { readStamps, stampRelease, stampsPath, writeStamps } from "./stamps";
import { onChangeAfterFlip, validateRelease } from "./hooks";
import { manifestPath, releasePath, ReleasesLayout, releasesLayout } from "./layout";
import { pointAt } from "./link";
import { deltaOnHost, findKept, ownershipKey, planPrune, planRelease } from "./plan";
import { recoverReleases, undoDeploy } from "./recover";
import { readReleaseManifest, readReleasesState, ReleasesJournal, ReleasesState, writeReleaseManifest, writeReleasesJournal, writeReleasesState } from "./state";

export const DEFAULT_KEEP_RELEASES = 3;

export interface ReleaseDeployRequest {
    source: string;
    destination: string;
    stateDir?: string;
    next: Manifest;
    /** Releases kept, the live one included. Default: 3. */
    keepReleases?: number;
    hooks?: Hooks;
    ownership?: Ownership;
    identity?: OwnerId;
    owner?: RecordOwner;
    name?: string;
    log?: (line: string) => void;
    progressIntervalMs?: number;
    /** Keep the source's mtimes (see BuildRequest). Default: true. */
    preserveMtimes?: boolean;
    /**
     * Paths a refresh found changed in the live release on the host. Each
     * still changed is sent (or copied, for a mode change alone) into the
     * new release instead of hard-linked, its hand-edited version is kept
     * under `<stateDir>/<key>/drift/<release id>/`, and the kept releases
     * that shared its inode are relinked (or dropped) after the commit.
     */
    drifted?: string[];
}

export interface ReleaseDeployResult {
    /** From the release that was live to the new one. */
    delta: ManifestDelta;
    bytesSent: number;
    /** The live release's id and folder. */
    release: string;
    folder: string;
    /** True when a kept release went live again (a rollback): no file was sent. */
    reused: boolean;
    /** The releases kept on the host after this run (id and manifest digest), the live one included. */
    kept: { id: string; digest: string }[];
    /** Present when `drifted` was given: the paths repaired (with where their hand-edited version is kept) and those found as built. */
    drift?: { repaired: { path: string; drift: ReleaseDamage; handEdited?: string }[]; matched: string[] };
    record?: ReturnType<typeof lastRecordOf>;
}

/** Takes the destination's lock (shared with inPlace deployments) and puts right what a killed run left. */
export async function openReleases(t: Transport, stateDir: string | undefined, destination: string, who: { stack: string; resource: string }, say: (l: string) => void) {
    const hostLayout = layoutFor(await resolveStateRoot(t, stateDir), destination);
    checkStateRootApart(t.host, stateDir, hostLayout.stateRoot, destination);
    await t.mkdirp(hostLayout.folder, 0o700);
    const unlock = await acquireLock(t, hostLayout, who, { log: say });
    try {
        for (const line of await recoverDestination(t, hostLayout, destination)) say(line);
        const l = releasesLayout(hostLayout, destination);
        for (const line of await recoverReleases(t, l)) say(line);
        return { hostLayout, l, unlock };
    } catch (err) {
        await unlock();
        throw err;
    }
}

/** The folder at `destination` may become the original only if no other deployment has files in it. */
async function checkNoOtherOwner(t: Transport, hostLayout: HostLayout, destination: string, me: OwnerId): Promise<void> {
    const ledger = await readLedger(t, hostLayout);
    if (!ledger) return;
    const theirs = [...ledger.paths].filter(([, p]) => p.owner !== me.instance);
    if (!theirs.length) return;
    const byOwner = new Map<string, string[]>();
    for (const [slot, p] of theirs) byOwner.set(p.owner, [...(byOwner.get(p.owner) ?? []), slot]);
    const parts = [...byOwner].map(([id, slots]) => {
        const o = ledger.owners.get(id);
        return `${slots.length} path${slots.length === 1 ? "" : "s"} (${slots.slice(0, 3).map((s) => `${destination}/${s}`).join(", ")}${slots.length > 3 ? ", …" : ""}) deployed by stack ${o ? stackName(o) : "(unknown stack)"}, resource ${o?.urn ?? o?.name ?? "(unknown)"} (instance ${id})`;
    });
    throw new Error(
        `refused before anything moved on ${t.host}: strategy "releases" moves the folder at ${destination} aside as the original, but it holds ${parts.join("; ")}. ` +
            `Destroy that deployment first, or keep strategy "inPlace"`,
    );
}

/** Releases belong to one resource: another stack's (or another resource's) are refused, a replacement of this one takes them over. */
export function checkOwner(t: Transport, l: ReleasesLayout, state: ReleasesState | undefined, me: OwnerId): void {
    const o = state?.owner;
    if (!o || o.instance === me.instance || sameResource(o, me)) return;
    throw new Error(
        `refused before anything moved on ${t.host}: the releases of ${l.destination} (${l.root}) belong to stack ${stackName(o)}, resource ${o.urn ?? o.name ?? "(unknown)"} (instance ${o.instance}); ` +
            `destroy that deployment first, or deploy this one to another destination`,
    );
}

/** Whether this is the first release: what is at `destination` must be a folder or nothing. */
async function checkFirstTarget(t: Transport, l: ReleasesLayout): Promise<"folder" | "none"> {
    const st = await t.stat(l.destination);
    if (st && st.kind !== "dir") {
        throw new Error(`destination ${l.destination} on ${t.host} is a ${st.kind}; strategy "releases" needs a folder or nothing there (it keeps a folder aside as the original and puts a symlink in its place): move it away or choose another destination`);
    }
    if (await t.stat(l.original)) throw new Error(`${l.original} on ${t.host} already exists and is not known to pulumi-delta; move it away, then run pulumi up again`);
    return st ? "folder" : "none";
}

/**
 * Deploys `next` as a whole release: built beside the live one (unchanged
 * files hard-linked from it, only the delta sent), validated, then made
 * live by renaming a new symlink over `destination`; onChange runs after. A
 * manifest whose release is still kept only flips the link. Any failure
 * before the commit puts the previous release (or the original) back.
 */
export async function deployRelease(t: Transport, req: ReleaseDeployRequest): Promise<ReleaseDeployResult> {
    const name = req.name ?? req.destination;
    const say = (line: string) => req.log?.(`${name}: ${line}`);
    const me = req.identity ?? DIRECT_CALLER;
    const { hostLayout, l, unlock } = await openReleases(t, req.stateDir, req.destination, { stack: stackName(me), resource: me.urn ?? name }, say);
    try {
        return await deployLocked(t, req, hostLayout, l, me, say);
    } finally {
        await unlock();
    }
}

async function deployLocked(t: Transport, req: ReleaseDeployRequest, hostLayout: HostLayout, l: ReleasesLayout, me: OwnerId, say: (l: string) => void): Promise<ReleaseDeployResult> {
    const { next } = req;
    const keep = req.keepReleases ?? DEFAULT_KEEP_RELEASES;
    const digest = manifestDigest(next);
    const ownKey = ownershipKey(req.ownership);
    let state = await readReleasesState(t, l);
    checkOwner(t, l, state, me);
    const live = state?.current ? state.releases.find((r) => r.id === state!.current) : undefined;
    const first = !live;
    const curManifest = live ? await readReleaseManifest(t, l, live.id) : undefined;
    const delta = diffManifests(curManifest, next);
    const keptOf = (s: ReleasesState) => s.releases.map((r) => ({ id: r.id, digest: r.digest }));
    // Drifted files of the live release, checked again under the lock: each still changed is repaired below.
    const damage = live && curManifest && req.drifted?.length ? await recheckDrifted(t, l, live.id, curManifest, req.drifted) : new Map<string, ReleaseDamage>();
    if (req.drifted?.length) say(`${req.drifted.length} path${req.drifted.length === 1 ? "" : "s"} found changed on ${t.host} by pulumi refresh: ${damage.size} still differ${damage.size === 1 ? "s" : ""} in the live release (sent or copied into the new release, never hard-linked), ${req.drifted.length - damage.size} as built`);
    let driftOut = req.drifted?.length ? { repaired: [] as { path: string; drift: ReleaseDamage; handEdited?: string }[], matched: req.drifted.filter((p) => !damage.has(p)).sort() } : undefined;
    if (live) {
        const problem = await destinationProblem(t, l, live.id);
        if (problem) {
            // A symlink elsewhere, or nothing: only the link is replaced below. A folder or file there is someone's data.
            if (!problem.startsWith("a symlink") && problem !== "gone") throw new Error(`refused on ${t.host}: ${describeDestinationProblem(l.destination, problem, releasePath(l, live.id))}`);
            say(`${l.destination} was ${problem}, not the symlink to the live release ${live.id}: pointing it at the release this run makes live`);
        }
        if (live.digest === digest && live.ownership === ownKey && !damage.size) {
            // Nothing changes (but a lost link); a smaller keepReleases still applies.
            if (problem) await pointAt(t, l, releasePath(l, live.id), live.id);
            const pruned = await prune(t, l, state!, live.id, keep, say);
            return { delta, bytesSent: 0, release: live.id, folder: releasePath(l, live.id), reused: false, kept: keptOf(pruned), ...(driftOut ? { drift: driftOut } : {}) };
        }
    }
    let kept = state ? findKept(state.releases.filter((r) => r.id !== state!.current), digest, ownKey) : undefined;
    if (kept) {
        // A hand edit in a release that was live reaches kept releases through their shared hard links.
        const damaged = await damageOfKept(t, l, kept);
        if (damaged.length) {
            say(`kept release ${kept.id} holds this manifest, but ${damaged.length} of its files changed on ${t.host} since it was built (${damaged.slice(0, 5).join(", ")}${damaged.length > 5 ? ", …" : ""}; an edit in a release that shared them as hard links): removing it and building a new release instead of flipping to it`);
            state = await dropRelease(t, l, state!, kept.id);
            kept = undefined;
            // The edit was most likely made through the live release, whose copy is the same inode: never link it into the new one.
            if (live && curManifest) {
                const more = await recheckDrifted(t, l, live.id, curManifest, damaged.filter((p) => !damage.has(p)));
                for (const [p, d] of more) damage.set(p, d);
                if (more.size) say(`${more.size} of them changed in the live release ${live.id} too (not found by a refresh): sent or copied into the new release, never hard-linked`);
            }
        }
    }
    const id = kept?.id ?? newRecordId();
    const folder = releasePath(l, id);
    const startedAt = new Date().toISOString();
    if (first) {
        await checkNoOtherOwner(t, hostLayout, req.destination, me);
        const original = state?.original ?? (await checkFirstTarget(t, l));
        const created = await makeRoot(t, l);
        state = { version: 1, destination: req.destination, root: l.root, current: null, original, createdDirs: [...(state?.createdDirs ?? []), ...created.filter((d) => d !== l.root)], releases: [], owner: me };
        await writeReleasesState(t, l, state);
    } else {
        await makeRoot(t, l);
    }
    // A fresh id for the hand-edited versions: a rollback's release id is an old one.
    const keptDir = live && damage.size ? handEditedPath(hostLayout, kept ? newRecordId() : id) : undefined;
    const journal: Extract<ReleasesJournal, { op: "deploy" }> = { version: 1, op: "deploy", id, built: !kept, previous: live?.id ?? null, phase: "build", ...(keptDir ? { handEdited: keptDir } : {}) };
    await writeReleasesJournal(t, l, journal);
    const index = new LargeFileIndex(t, hostLayout);
    let bytesSent = 0;
    let sentFiles = 0;
    try {
        // The phase markers of the fault trials, in a release's terms: upload builds it, journal records the flip ahead, commit flips and names it live, bookkeeping prunes and records.
        await enterPhase("upload");
        if (kept) {
            say(`release ${id} (${digest}) is still kept on ${t.host}: no file bytes sent, only the link flips`);
        } else {
            const plan = planRelease(curManifest, next, live !== undefined && live.ownership !== ownKey, damage);
            say(`building release ${id} in ${folder}: ${plan.link.length} hard-linked from release ${live?.id ?? "(none)"}, ${plan.copy.length} copied on the host (mode or owner changed), ${plan.send.length} sent`);
            sentFiles = plan.send.length;
            bytesSent = await buildRelease(t, { source: req.source, next, plan, release: folder, current: live && curManifest ? { folder: releasePath(l, live.id), manifest: curManifest } : undefined, fresh: new Set(damage.keys()), index, ownership: req.ownership, name: req.name ?? req.destination, log: req.log, progressIntervalMs: req.progressIntervalMs, preserveMtimes: req.preserveMtimes });
            await writeReleaseManifest(t, l, id, next);
            await writeStamps(t, l, id, await stampRelease(t, folder, next, plan.link, live ? await readStamps(t, l, live.id) : new Map()));
        }
        if (live && keptDir) {
            driftOut ??= { repaired: [], matched: [] };
            const handEdited = await keepHandEdited(t, keptDir, releasePath(l, live.id), damage);
            if (handEdited.size) say(`keeping the version found on ${t.host} of ${handEdited.size} drifted file${handEdited.size === 1 ? "" : "s"} under ${keptDir}`);
            for (const [p, d] of [...damage].sort(([a], [b]) => (a < b ? -1 : 1))) driftOut!.repaired.push({ path: p, drift: d, ...(handEdited.has(p) ? { handEdited: handEdited.get(p)! } : {}) });
        }
        await validateRelease(t, req.hooks ?? {}, folder);
        if (req.hooks?.validate) say("validate hook passed");
        await enterPhase("journal");
        await writeReleasesJournal(t, l, { ...journal, phase: "flip" });
        await enterPhase("commit");
        if (first && state!.original === "folder" && (await t.stat(req.destination))?.kind === "dir") {
            say(`first release: the folder at ${req.destination} is kept aside as the original (${l.original}); destination is absent for one rename, until the symlink takes its place`);
            await t.rename(req.destination, l.original);
        }
        await pointAt(t, l, folder, id);
        say(`${req.destination} → ${folder}`);
        await onChangeAfterFlip(t, req.hooks ?? {}, () => undoDeploy(t, l, state, { ...journal, built: false }).then(() => writeReleasesJournal(t, l, journal)), say);
    } catch (err) {
        await undoDeploy(t, l, state, journal).catch((undoErr: Error) => {
            throw new Error(`${(err as Error).message}; putting the previous release back also failed (${undoErr.message}); ${l.journal} on ${t.host} names what to undo, and the next pulumi up will retry`);
        });
        throw err;
    }
    // Commit: the state naming the new release as live.
    const now = new Date().toISOString();
    const entry = kept ? { ...kept, activatedAt: now } : { id, time: startedAt, activatedAt: now, digest, ownership: ownKey, files: next.entries.size, bytes: totalBytes(next) };
    state = { ...state!, owner: me, current: id, releases: [...state!.releases.filter((r) => r.id !== id), entry] };
    await writeReleasesState(t, l, state);
    await t.unlink(l.journal);
    await enterPhase("bookkeeping");
    if (damage.size) state = await repairKept(t, l, state, { id, manifest: next, ownership: ownKey }, [...damage.keys()], say);
    const pruned = await prune(t, l, state, id, keep, say);
    if (!kept) await index.afterCommit(curManifest, next, delta, folder, say);
    const hostDelta = deltaOnHost(delta, damage, next);
    const record = await recordRelease(t, hostLayout, req, l, live?.id, hostDelta, startedAt, me, driftOut?.repaired ?? []);
    say(`${kept ? "rolled back to" : "activated"} release ${id}: sent ${sentFiles} file${sentFiles === 1 ? "" : "s"} (${bytesSent} bytes) → ${t.host}:${req.destination}`);
    return { delta: hostDelta, bytesSent, release: id, folder, reused: kept !== undefined, kept: keptOf(pruned), record, ...(driftOut ? { drift: driftOut } : {}) };
}

/** The releases folder beside destination; a parent the login user may not write is named with the two ways out. */
async function makeRoot(t: Transport, l: ReleasesLayout): Promise<string[]> {
    try {
        return await t.mkdirp(l.root, 0o755);
    } catch (err) {
        if (!/permission denied/i.test((err as Error).message)) throw err;
        throw new Error(`${(err as Error).message}; strategy "releases" keeps its releases beside destination, in ${l.root}: let the login user create folders in ${path.posix.dirname(l.root)}, or set become: "sudo"`);
    }
}

/** Drops the releases `keep` no longer covers: first from the state, then their folders (a run killed in between leaves folders the next recovery removes). */
async function prune(t: Transport, l: ReleasesLayout, state: ReleasesState, current: string, keep: number, say: (l: string) => void): Promise<ReleasesState> {
    const { kept, removed } = planPrune(state.releases, current, keep);
    if (!removed.length) return state;
    const next = { ...state, releases: kept };
    await writeReleasesState(t, l, next);
    for (const r of removed) {
        await t.removeTree(releasePath(l, r.id));
        await t.unlink(manifestPath(l, r.id)).catch(() => undefined);
        await t.unlink(stampsPath(l, r.id)).catch(() => undefined);
    }
    say(`removed ${removed.length} release${removed.length === 1 ? "" : "s"} beyond keepReleases ${keep}: ${removed.map((r) => r.id).join(", ")}`);
    return next;
}

async function recordRelease(t: Transport, hostLayout: HostLayout, req: ReleaseDeployRequest, l: ReleasesLayout, previous: string | undefined, delta: ManifestDelta, startedAt: string, me: OwnerId, repaired: { path: string; drift: ReleaseDamage; handEdited?: string }[]) {
    const target = (p: string) => `${req.destination}/${p}`;
    const drifted = new Map(repaired.map((r) => [r.path, { drift: r.drift, ...(r.handEdited ? { handEdited: r.handEdited } : {}) }]));
    const changes: RecordChange[] = [];
    const rollback: RecordRollback[] = [];
    const prev = (p: string) => (previous ? `${releasePath(l, previous)}/${p}` : null);
    for (const p of delta.added) {
        const e = req.next.entries.get(p)!;
        changes.push({ file: target(p), action: "create", sha256: e.sha256, bytes: e.size, ...drifted.get(p) });
        rollback.push({ file: target(p), action: "delete", backup: null });
    }
    for (const p of delta.changed) {
        const e = req.next.entries.get(p)!;
        changes.push({ file: target(p), action: "update", sha256: e.sha256, bytes: e.size, ...drifted.get(p) });
        rollback.push({ file: target(p), action: "restore", backup: prev(p) });
    }
    for (const p of delta.removed) {
        changes.push({ file: target(p), action: "delete", sha256: null, bytes: null });
        rollback.push({ file: target(p), action: "restore", backup: prev(p) });
    }
    if (!changes.length) return undefined;
    changes.sort((a, b) => (a.file < b.file ? -1 : 1));
    rollback.sort((a, b) => (a.file < b.file ? -1 : 1));
    const saved = await saveRecord(t, hostLayout, { id: newRecordId(), operation: "deploy", time: startedAt, destination: req.destination, owner: { ...req.owner, instance: me.instance }, name: req.name, changes, rollback }, req.log);
    return saved ? lastRecordOf(saved.record, saved.path) : undefined;
}
