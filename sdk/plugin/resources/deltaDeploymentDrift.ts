import type { DriftResult } from "../../apply";
import { fileMapValue, Manifest, ManifestDelta } from "../../manifest";
import type { PlainObject } from "../server/codec";

/** What `pulumi refresh` found changed on the host, as kept in the outputs under `drift`. */
export interface Drift {
    changed: { path: string; mode: number; sha256: string; target?: string }[];
    removed: string[];
    /** strategy "releases": what `destination` is when it is no longer the symlink to the live release ("a symlink to …", "a folder", "gone"). */
    destination?: string;
}

export function readDrift(outputs: PlainObject): Drift | undefined {
    const d = outputs.drift as unknown as Drift | null | undefined;
    if (!d || (!d.changed?.length && !d.removed?.length && !d.destination)) return undefined;
    return { changed: d.changed ?? [], removed: d.removed ?? [], ...(d.destination ? { destination: d.destination } : {}) };
}

export function driftedPaths(d: Drift | undefined): string[] | undefined {
    return d ? [...d.changed.map((c) => c.path), ...d.removed] : undefined;
}

/** The deployed manifest as the host now holds it: the refresh's findings replace what was deployed. */
export function applyDrift(m: Manifest, d: Drift | undefined): Manifest {
    if (!d) return m;
    const entries = new Map(m.entries);
    for (const c of d.changed) {
        const e = entries.get(c.path);
        if (e) entries.set(c.path, { ...e, mode: c.mode, sha256: c.sha256, ...(c.target !== undefined ? { target: c.target } : {}) });
    }
    for (const p of d.removed) entries.delete(p);
    return { kind: m.kind, entries };
}

/** A line naming the files that changed on the host, under the delta that rewrites them. */
export function driftNote(d: Drift | undefined, delta: ManifestDelta): string {
    if (!d) return "";
    const onHost = new Set([...d.changed.map((c) => c.path), ...d.removed]);
    const named = [...delta.added, ...delta.changed].filter((p) => onHost.has(p));
    return named.length ? `\n  changed on the host since the last deployment (pulumi refresh): ${named.join(", ")}` : "";
}

/** The drift the host shows now, in the outputs' shape: content changes and mode changes together, each with what the host holds. */
export function driftFrom(found: Pick<DriftResult, "changed" | "modeChanged" | "removed"> & { destination?: string }): Drift {
    const changed = [
        ...found.changed.map((c) => ({ path: c.path, mode: c.mode, sha256: c.sha256, ...(c.target !== undefined ? { target: c.target } : {}) })),
        ...found.modeChanged.map((c) => ({ path: c.path, mode: c.mode, sha256: c.sha256 })),
    ].sort((a, b) => (a.path < b.path ? -1 : 1));
    return { changed, removed: [...found.removed].sort(), ...(found.destination ? { destination: found.destination } : {}) };
}

/** The per-file map of the outputs as the host holds it, so `preview --diff` shows host => source for each drifted file. */
export function filesWithDrift(files: Record<string, string>, d: Drift): Record<string, string> {
    const out = { ...files };
    for (const c of d.changed) out[c.path] = c.target !== undefined ? fileMapValue({ ...c, type: "symlink" }) : fileMapValue(c);
    for (const p of d.removed) delete out[p];
    return out;
}
