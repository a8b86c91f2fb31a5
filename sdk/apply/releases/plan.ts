import type { Manifest, ManifestDelta } from "../../manifest";
import type { ReleaseDamage } from "./drift";

/** How each file of a new release comes to be. */
export interface ReleasePlan {
    /** Same content, mode and owner as in the current release: a hard link to it (no byte sent, no byte copied). */
    link: string[];
    /** Same content, but another mode or owner: copied on the host from the current release (a link would change the live file too). */
    copy: string[];
    /** New or changed content: staged from the source (only the delta crosses the wire). */
    send: string[];
    /** Symlinks, made anew in each release (a hard link to a symlink is not one `cp -l` can make portably). */
    symlinks: string[];
}

/**
 * The work a new release needs, from the live release's manifest (none on
 * the first release) and the new one. `ownerChanged` means the files' owner
 * or group differs from the live release's: nothing can be linked then.
 * `drifted`: paths whose file in the live release changed on the host since
 * it was built (a refresh found them, the run checked them again): never
 * linked, since a link would carry the hand-edited inode into the new
 * release; one whose content is as built but whose mode changed is copied,
 * the others are sent.
 */
export function planRelease(current: Manifest | undefined, next: Manifest, ownerChanged: boolean, drifted: ReadonlyMap<string, "content" | "mode" | "removed"> = new Map()): ReleasePlan {
    const plan: ReleasePlan = { link: [], copy: [], send: [], symlinks: [] };
    for (const [p, e] of [...next.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        // Folder entries are made with the release's folders; links anew.
        if (e.type === "dir") continue;
        if (e.type === "symlink") {
            plan.symlinks.push(p);
            continue;
        }
        const c = current?.entries.get(p);
        const d = drifted.get(p);
        if (!c || c.type !== undefined || c.sha256 !== e.sha256 || c.size !== e.size || (d !== undefined && d !== "mode")) plan.send.push(p);
        else if (c.mode !== e.mode || ownerChanged || d === "mode") plan.copy.push(p);
        else plan.link.push(p);
    }
    return plan;
}

/** One release as the host's releases.json lists it. */
export interface ReleaseEntry {
    id: string;
    /** ISO 8601: when it was built. */
    time: string;
    /** ISO 8601: when it last went live (undefined: never, which a committed release never is). */
    activatedAt?: string;
    /** The manifest digest (`sha256:<hex>`). */
    digest: string;
    /** `owner:group` it was built with ("" for the host's default). */
    ownership: string;
    files: number;
    bytes: number;
}

/** A kept release holding exactly this manifest with this ownership: redeploying it only flips the link. */
export function findKept(releases: readonly ReleaseEntry[], digest: string, ownership: string): ReleaseEntry | undefined {
    return releases.find((r) => r.digest === digest && r.ownership === ownership && r.activatedAt !== undefined);
}

/**
 * Which releases go once `current` is live: `keep` counts the live one;
 * the others are kept newest-activated first. Releases that never went live
 * never count and always go.
 */
export function planPrune(releases: readonly ReleaseEntry[], current: string, keep: number): { kept: ReleaseEntry[]; removed: ReleaseEntry[] } {
    const live = releases.filter((r) => r.id === current);
    const others = releases
        .filter((r) => r.id !== current && r.activatedAt !== undefined)
        .sort((a, b) => (a.activatedAt! < b.activatedAt! ? 1 : a.activatedAt! > b.activatedAt! ? -1 : a.id < b.id ? 1 : -1));
    const room = Math.max(keep - live.length, 0);
    const kept = [...live, ...others.slice(0, room)];
    const keptIds = new Set(kept.map((r) => r.id));
    return { kept, removed: releases.filter((r) => !keptIds.has(r.id)) };
}

/** How `owner`/`group` are remembered per release. */
export function ownershipKey(o: { owner?: string; group?: string } | undefined): string {
    return o && (o.owner || o.group) ? `${o.owner ?? ""}:${o.group ?? ""}` : "";
}

/**
 * What becomes of the files of a kept (not live) release that an edit on
 * the host changed: its unchanged files are hard links shared with the
 * release that was live, so an edit in place there (or a chmod) changed
 * them too. A damaged path whose version in the new live release is the
 * same (content, mode, and the releases' owner) is relinked to that file;
 * if any is not, the release has no good copy of it left and is dropped
 * (a later deployment of its manifest builds it again, sending what it must).
 */
export function planKeptRepair(kept: Manifest, keptOwnership: string, live: Manifest, liveOwnership: string, damaged: readonly string[]): { relink: string[]; lost: string[] } {
    const relink: string[] = [];
    const lost: string[] = [];
    for (const p of damaged) {
        const k = kept.entries.get(p);
        const n = live.entries.get(p);
        if (!k) continue;
        const same = n !== undefined && k.type === undefined && n.type === undefined && k.sha256 === n.sha256 && k.size === n.size && k.mode === n.mode && keptOwnership === liveOwnership;
        (same ? relink : lost).push(p);
    }
    return { relink: relink.sort(), lost: lost.sort() };
}

/**
 * The delta from what the host held to the new release: a drifted path
 * the manifests agree on is changed (or added, when it was removed on the
 * host) all the same, as an inPlace deployment counts it.
 */
export function deltaOnHost(delta: ManifestDelta, damage: ReadonlyMap<string, ReleaseDamage>, next: Manifest): ManifestDelta {
    if (!damage.size) return delta;
    const added = new Set(delta.added);
    const changed = new Set(delta.changed);
    let unchanged = delta.unchanged;
    for (const [p, d] of damage) {
        if (!next.entries.has(p) || added.has(p)) continue;
        if (d === "removed") {
            if (!changed.delete(p)) unchanged--;
            added.add(p);
        } else if (!changed.has(p)) {
            changed.add(p);
            unchanged--;
        }
    }
    const sorted = (x: Set<string>) => [...x].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { added: sorted(added), changed: sorted(changed), removed: delta.removed, unchanged };
}
