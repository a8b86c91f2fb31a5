import type { Manifest } from "../../manifest";
import type { Transport } from "../../transport";
import { forEachLimit } from "../pool";
import { STATS_IN_FLIGHT } from "../hostCheck";
import { ReleasesLayout } from "./layout";

/**
 * The mtime the host gave each file and symlink of a release when it was
 * built (whole seconds, as the transport reports them), kept beside the
 * release's manifest: a refresh compares an lstat against it and hashes
 * only where the size or mtime moved, as the ledger lets an inPlace
 * refresh do. A release built before these were kept has none: each of its
 * files is hashed then.
 */
export type ReleaseStamps = Map<string, number>;

export function stampsPath(l: ReleasesLayout, id: string): string {
    return `${l.manifests}/${id}.mtimes`;
}

/** One JSON object, versioned: a path may hold any character. */
export function encodeStamps(s: ReleaseStamps): string {
    const mtimes: Record<string, number> = {};
    for (const [p, m] of [...s].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) mtimes[p] = m;
    return JSON.stringify({ version: 1, mtimes }) + "\n";
}

/** Throws an Error saying what is wrong unless `text` is what {@link encodeStamps} wrote. */
export function decodeStamps(text: string): ReleaseStamps {
    let v: unknown;
    try {
        v = JSON.parse(text);
    } catch {
        throw new Error("not a pulumi-delta release mtimes file (not JSON)");
    }
    const o = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
    if (o.version !== 1) throw new Error(`unsupported release mtimes version ${JSON.stringify(o.version)}`);
    if (typeof o.mtimes !== "object" || o.mtimes === null || Array.isArray(o.mtimes)) throw new Error("malformed release mtimes (needs an object of path → seconds)");
    const out: ReleaseStamps = new Map();
    for (const [p, m] of Object.entries(o.mtimes as Record<string, unknown>)) {
        if (typeof m !== "number" || !Number.isSafeInteger(m) || m < 0) throw new Error(`malformed release mtimes: ${JSON.stringify(p)} has ${JSON.stringify(m)}`);
        out.set(p, m);
    }
    return out;
}

/** A release's stamps; empty when it has none (built by an earlier version) or they cannot be read: its files are hashed then, never trusted. */
export async function readStamps(t: Transport, l: ReleasesLayout, id: string): Promise<ReleaseStamps> {
    const p = stampsPath(l, id);
    if (!(await t.stat(p))) return new Map();
    try {
        return decodeStamps((await t.readFile(p)).toString("utf8"));
    } catch {
        return new Map();
    }
}

/**
 * Written in place, like the release's manifest: a new release's before its
 * commit (a run killed mid-write is undone, and the file with it); a kept
 * release's when relinked, where a half-written file only reads as none
 * (its files are hashed then, never trusted).
 */
export async function writeStamps(t: Transport, l: ReleasesLayout, id: string, s: ReleaseStamps): Promise<void> {
    await t.mkdirp(l.manifests, 0o700);
    await t.writeFile(stampsPath(l, id), encodeStamps(s), 0o600);
}

/**
 * The stamps of a release just built: a hard-linked file is the live
 * release's inode, so it has the live release's stamp (no round trip);
 * every file written for this release, and any linked file the live
 * release has no stamp for, is lstat'ed.
 */
export async function stampRelease(t: Transport, folder: string, next: Manifest, linked: readonly string[], inherited: ReleaseStamps): Promise<ReleaseStamps> {
    const out: ReleaseStamps = new Map();
    const fromLive = new Set(linked);
    const toStat: string[] = [];
    for (const [p, e] of next.entries) {
        if (e.type === "dir") continue;
        const m = fromLive.has(p) ? inherited.get(p) : undefined;
        if (m !== undefined) out.set(p, m);
        else toStat.push(p);
    }
    await forEachLimit(toStat, STATS_IN_FLIGHT, async (p) => {
        const st = await t.stat(`${folder}/${p}`);
        if (st) out.set(p, st.mtime);
    });
    return out;
}
