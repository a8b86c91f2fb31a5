import { comparePaths } from "./manifest";
import { Manifest, ManifestDelta, ManifestEntry } from "./types";

/**
 * Whether two hashes name the same content: equal, or one an abbreviation of
 * the other (a large tree's manifest in state keeps a prefix of each hash).
 */
export function sameContent(a: string, b: string): boolean {
    return a.length === b.length ? a === b : a.length < b.length ? b.startsWith(a) : a.startsWith(b);
}

/** Same content (see sameContent), mode and kind: nothing to deploy at that path. */
export function sameEntry(a: ManifestEntry, b: ManifestEntry): boolean {
    return sameContent(a.sha256, b.sha256) && a.mode === b.mode && (a.type ?? "file") === (b.type ?? "file");
}

/**
 * What turns `from` into `to`. A change of mode alone is a change, and so is
 * a change of kind (file, symlink, folder) or of a symlink's target; an
 * mtime is not in a manifest, so it never is. Between two
 * single-file manifests the one file is compared whatever its name, since
 * both land at the same destination path.
 */
export function diffManifests(from: Manifest | undefined, to: Manifest): ManifestDelta {
    const delta: ManifestDelta = { added: [], changed: [], removed: [], unchanged: 0 };
    const old = from?.entries ?? new Map();
    if (from?.kind === "file" && to.kind === "file" && old.size === 1 && to.entries.size === 1) {
        const [[, a]] = [...old];
        const [[name, b]] = [...to.entries];
        if (sameEntry(a, b)) delta.unchanged = 1;
        else delta.changed.push(name);
        return delta;
    }
    for (const [p, e] of to.entries) {
        const before = old.get(p);
        if (!before) delta.added.push(p);
        else if (!sameEntry(before, e)) delta.changed.push(p);
        else delta.unchanged++;
    }
    for (const p of old.keys()) if (!to.entries.has(p)) delta.removed.push(p);
    delta.added.sort(comparePaths);
    delta.changed.sort(comparePaths);
    delta.removed.sort(comparePaths);
    return delta;
}

export function deltaIsEmpty(d: ManifestDelta): boolean {
    return d.added.length + d.changed.length + d.removed.length === 0;
}

/**
 * The short delta users read under Diagnostics: a heading, then the first
 * `limit` paths marked `+ ~ -`, then how many more.
 */
export function formatDelta(name: string, target: string, d: ManifestDelta, limit = 20): string {
    const lines = [
        `${name}: ${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed, ${d.unchanged} unchanged → ${target}`,
    ];
    const marked = [
        ...d.added.map((p) => ({ p, m: "+" })),
        ...d.changed.map((p) => ({ p, m: "~" })),
        ...d.removed.map((p) => ({ p, m: "-" })),
    ].sort((a, b) => comparePaths(a.p, b.p));
    for (const { p, m } of marked.slice(0, limit)) lines.push(`  ${m} ${p}`);
    if (marked.length > limit) lines.push(`  … and ${marked.length - limit} more`);
    return lines.join("\n");
}
