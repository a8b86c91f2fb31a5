import type { Manifest } from "../../manifest";

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
 */
export function planRelease(current: Manifest | undefined, next: Manifest, ownerChanged: boolean): ReleasePlan {
    const plan: ReleasePlan = { link: [], copy: [], send: [], symlinks: [] };
    for (const [p, e] of [...next.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        // Folder entries are made with the release's folders; links anew.
        if (e.type === "dir") continue;
        if (e.type === "symlink") {
            plan.symlinks.push(p);
            continue;
        }
        const c = current?.entries.get(p);
        if (!c || c.type !== undefined || c.sha256 !== e.sha256 || c.size !== e.size) plan.send.push(p);
        else if (c.mode !== e.mode || ownerChanged) plan.copy.push(p);
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
