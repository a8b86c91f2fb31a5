import { comparePaths, Manifest } from "../../manifest";
import type { RemoteStat, Transport } from "../../transport";
import { checkHostFiles, CheckCounts, HostFileQuery } from "../hostCheck";
import type { DriftRequest, DriftResult } from "../drift";
import { checkStateRootApart, layoutFor, resolveStateRoot } from "../layout";
import { releasePath, ReleasesLayout, releasesLayout } from "./layout";
import { readLink } from "./link";
import { readReleaseManifest, readReleasesState } from "./state";
import { readStamps, ReleaseStamps } from "./stamps";

/** How one path of a release differs from what was built there. */
export type ReleaseDamage = "content" | "mode" | "removed";

export interface ReleaseCheck {
    /** The paths that differ, with what the host holds (no entry for a removed one's stat). */
    damaged: Map<string, { kind: ReleaseDamage; stat?: RemoteStat; sha256?: string; linkTarget?: string }>;
    /** Paths whose mtime moved but whose content and mode are as built: not drift. */
    touched: number;
    counts: CheckCounts;
}

/**
 * Checks files of a release folder against its manifest: an lstat each
 * against the mtime recorded when it was built (see ReleaseStamps), a host
 * hash only where the size or mtime moved. `paths` limits it to those (the
 * paths not in the manifest are skipped); default: every entry. `describe`:
 * hash even where the size alone tells, so the result names the content.
 */
export async function checkRelease(t: Transport, folder: string, m: Manifest, stamps: ReleaseStamps, options: { paths?: readonly string[]; describe?: boolean } = {}): Promise<ReleaseCheck> {
    const paths = (options.paths ?? [...m.entries.keys()]).filter((p) => m.entries.has(p)).sort(comparePaths);
    const queries: HostFileQuery[] = paths.map((p) => ({ target: `${folder}/${p}`, want: m.entries.get(p)!, committedMtime: stamps.get(p) }));
    const counts: CheckCounts = { stats: 0, hashes: 0 };
    const states = await checkHostFiles(t, queries, { describe: options.describe ?? false, counts });
    const out: ReleaseCheck = { damaged: new Map(), touched: 0, counts };
    states.forEach((s, i) => {
        const p = paths[i];
        if (s.state === "missing") out.damaged.set(p, { kind: "removed" });
        else if (s.state === "content") out.damaged.set(p, { kind: "content", stat: s.stat, sha256: s.sha256, linkTarget: s.linkTarget });
        else if (s.state === "mode") out.damaged.set(p, { kind: "mode", stat: s.stat, sha256: queries[i].want.sha256 });
        if (s.state === "touched" || (s.state === "mode" && s.mtimeMoved)) out.touched++;
    });
    return out;
}

/** What `destination` is when it is not the symlink to the live release, in words; undefined when it is. */
export async function destinationProblem(t: Transport, l: ReleasesLayout, liveId: string): Promise<string | undefined> {
    const link = await readLink(t, l.destination);
    if (link === releasePath(l, liveId)) return undefined;
    if (link !== undefined) return `a symlink to ${link}`;
    const st = await t.stat(l.destination);
    return st ? `a ${st.kind === "dir" ? "folder" : st.kind}` : "gone";
}

/** The sentence a refresh, a preview and a refused up give for a destination that is not the link to the live release. */
export function describeDestinationProblem(destination: string, found: string, liveFolder?: string): string {
    const live = liveFolder ? `the live release ${liveFolder}` : "the live release";
    const fix = found.startsWith("a symlink") || found === "gone"
        ? `pulumi up points it at the live release again (nothing is lost: ${found === "gone" ? "nothing is there" : "only the link is replaced"})`
        : `pulumi up refuses to replace it; move it away${liveFolder ? ` (or put the link back: ln -sfn ${liveFolder} ${destination})` : ""}, then run pulumi up again`;
    return `${destination} is ${found}, no longer the symlink to ${live}: ${fix}`;
}

export interface ReleaseDriftResult extends DriftResult {
    /** When `destination` is not the symlink to the live release: what it is instead ("a symlink to …", "a folder", "gone"). */
    destination?: string;
    /** The live release's folder (when known). */
    liveFolder?: string;
}

/**
 * What changed on the host since this instance's live release was built,
 * without changing anything: the live release folder's files checked as
 * {@link detectDrift} checks an inPlace deployment's (stats first, a hash
 * only where a size or mtime moved), and whether `destination` is still
 * the symlink to it. Takes no lock, for the reasons detectDrift gives; a
 * run seen before or after the read marks the result `settled: false`.
 */
export async function detectReleaseDrift(t: Transport, req: DriftRequest): Promise<ReleaseDriftResult> {
    const instance = typeof req.identity === "string" ? req.identity : req.identity.instance;
    const stateRoot = await resolveStateRoot(t, req.stateDir);
    checkStateRootApart(t.host, req.stateDir, stateRoot, req.destination);
    const hostLayout = layoutFor(stateRoot, req.destination);
    const l = releasesLayout(hostLayout, req.destination);
    const result: ReleaseDriftResult = { known: false, changed: [], modeChanged: [], removed: [], touched: 0, checked: 0, stats: 0, hashes: 0, settled: true };
    const busy = async () => (await Promise.all([t.stat(hostLayout.lock), t.stat(l.journal)])).some((s) => s !== undefined);
    const stateText = async () => ((await t.stat(l.state)) ? (await t.readFile(l.state).catch(() => Buffer.from(""))).toString("utf8") : "");
    const busyBefore = await busy();
    const before = await stateText();
    const state = before ? await readReleasesState(t, l) : undefined;
    if (!state?.current || (state.owner && state.owner.instance !== instance)) {
        result.settled = !busyBefore;
        return result;
    }
    result.known = true;
    const folder = releasePath(l, state.current);
    result.liveFolder = folder;
    const m = await readReleaseManifest(t, l, state.current);
    const check = await checkRelease(t, folder, m, await readStamps(t, l, state.current), { describe: true });
    for (const [p, d] of check.damaged) {
        if (d.kind === "removed") result.removed.push(p);
        else if (d.kind === "mode") result.modeChanged.push({ path: p, mode: d.stat!.mode, sha256: d.sha256! });
        else {
            if (d.sha256 === undefined) {
                throw new Error(`failed to hash ${folder}/${p} on ${t.host}: the host has neither openssl nor sha256sum, and the file (${d.stat!.size} bytes) is too large to read back; install openssl or coreutils there`);
            }
            result.changed.push({ path: p, mode: d.stat!.mode, size: d.stat!.size, sha256: d.sha256, ...(d.linkTarget !== undefined ? { target: d.linkTarget } : {}) });
        }
    }
    result.touched = check.touched;
    result.checked = m.entries.size;
    result.stats = check.counts.stats;
    result.hashes = check.counts.hashes;
    const problem = await destinationProblem(t, l, state.current);
    if (problem) result.destination = problem;
    result.settled = !busyBefore && !(await busy()) && (await stateText()) === before;
    return result;
}
