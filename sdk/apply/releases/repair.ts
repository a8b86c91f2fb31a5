import * as path from "path";
import type { Manifest } from "../../manifest";
import type { Transport } from "../../transport";
import { forEachLimit } from "../pool";
import { checkRelease, ReleaseDamage } from "./drift";
import { manifestPath, releasePath, ReleasesLayout } from "./layout";
import { planKeptRepair, ReleaseEntry } from "./plan";
import { ReleasesState, readReleaseManifest, writeReleasesState } from "./state";
import { readStamps, stampsPath, writeStamps } from "./stamps";

const IN_FLIGHT = 32;

/**
 * Of the paths a refresh found drifted, those whose file in the live
 * release still differs from what was built (checked again, under the
 * lock): a path set right by hand since is no repair.
 */
export async function recheckDrifted(t: Transport, l: ReleasesLayout, liveId: string, m: Manifest, drifted: readonly string[]): Promise<Map<string, ReleaseDamage>> {
    const check = await checkRelease(t, releasePath(l, liveId), m, await readStamps(t, l, liveId), { paths: drifted });
    return new Map([...check.damaged].map(([p, d]) => [p, d.kind]));
}

/**
 * The hand-edited versions of drifted files that are still there, kept
 * where an inPlace deployment keeps them (`<stateDir>/<key>/drift/<id>/`, a
 * fresh id per run: a rollback reuses a release's id, never this folder):
 * a hard link when the state root shares the release's filesystem (the
 * inode survives the repair of the kept releases, which only renames new
 * links over their names), else a copy. Returns path → where it is kept.
 */
export async function keepHandEdited(t: Transport, keptDir: string, liveFolder: string, damage: ReadonlyMap<string, ReleaseDamage>): Promise<Map<string, string>> {
    const kept = new Map<string, string>();
    const found = [...damage].filter(([, d]) => d !== "removed").map(([p]) => p);
    await forEachLimit(found, IN_FLIGHT, async (p) => {
        const from = `${liveFolder}/${p}`;
        if ((await t.stat(from))?.kind !== "file") return;
        const to = `${keptDir}/${p}`;
        await t.mkdirp(path.posix.dirname(to), 0o700);
        if (await t.stat(to)) await t.unlink(to);
        await t.link(from, to).catch(() => t.copyFile(from, to));
        kept.set(p, to);
    });
    return kept;
}

/** Drops one release: out of the state first, then its folder and bookkeeping (a run killed in between leaves a folder the next recovery removes). */
export async function dropRelease(t: Transport, l: ReleasesLayout, state: ReleasesState, id: string): Promise<ReleasesState> {
    const next = { ...state, releases: state.releases.filter((r) => r.id !== id) };
    await writeReleasesState(t, l, next);
    await t.removeTree(releasePath(l, id));
    await t.unlink(manifestPath(l, id)).catch(() => undefined);
    await t.unlink(stampsPath(l, id)).catch(() => undefined);
    return next;
}

/**
 * Before a kept release goes live again by a flip alone: every one of its
 * files checked against what was built (stats, a hash only where a size or
 * mtime moved). A hand edit in a release that was live reaches the kept
 * releases sharing that file's inode; such a release must not go live.
 * Returns the damaged paths (empty: it is as built).
 */
export async function damageOfKept(t: Transport, l: ReleasesLayout, r: ReleaseEntry): Promise<string[]> {
    const m = await readReleaseManifest(t, l, r.id).catch(() => undefined);
    if (!m) return ["(its manifest is gone)"];
    const check = await checkRelease(t, releasePath(l, r.id), m, await readStamps(t, l, r.id));
    return [...check.damaged.keys()];
}

/**
 * After a deployment that repaired drifted files of the release that was
 * live: each kept release is checked at those paths, and a damaged path is
 * relinked to the new live release's file where that holds its version
 * (a new link renamed over the old name: the release is not live, and the
 * hand-edited inode stays where keepHandEdited put it). A release left
 * without a good copy of one of them is dropped. Returns the state after.
 */
export async function repairKept(t: Transport, l: ReleasesLayout, state: ReleasesState, live: { id: string; manifest: Manifest; ownership: string }, paths: readonly string[], say: (line: string) => void): Promise<ReleasesState> {
    if (!paths.length) return state;
    for (const r of state.releases.filter((x) => x.id !== live.id)) {
        const m = await readReleaseManifest(t, l, r.id).catch(() => undefined);
        const folder = releasePath(l, r.id);
        if (!m) {
            state = await dropRelease(t, l, state, r.id);
            say(`removed kept release ${r.id}: its manifest is gone`);
            continue;
        }
        const stamps = await readStamps(t, l, r.id);
        const check = await checkRelease(t, folder, m, stamps, { paths });
        if (!check.damaged.size) continue;
        const plan = planKeptRepair(m, r.ownership, live.manifest, live.ownership, [...check.damaged.keys()]);
        if (plan.lost.length) {
            state = await dropRelease(t, l, state, r.id);
            say(`removed kept release ${r.id}: the edit on the host also changed its ${plan.lost.join(", ")} (a hard link shared with the release that was live), and no release holds its version any more; deploying its manifest again builds it anew`);
            continue;
        }
        await forEachLimit(plan.relink, IN_FLIGHT, async (p) => {
            const tmp = `${folder}/${path.posix.dirname(p) === "." ? "" : path.posix.dirname(p) + "/"}.pulumi-delta-relink-${path.posix.basename(p)}`;
            if (await t.stat(tmp)) await t.unlink(tmp);
            await t.mkdirp(path.posix.dirname(`${folder}/${p}`), 0o755);
            await t.link(`${releasePath(l, live.id)}/${p}`, tmp);
            await t.rename(tmp, `${folder}/${p}`);
            const st = await t.stat(`${folder}/${p}`);
            if (st) stamps.set(p, st.mtime);
        });
        await writeStamps(t, l, r.id, stamps);
        say(`kept release ${r.id} shared ${plan.relink.length} of the drifted files with the release that was live (hard links): relinked them to release ${live.id}'s copies (${plan.relink.join(", ")})`);
    }
    return state;
}
