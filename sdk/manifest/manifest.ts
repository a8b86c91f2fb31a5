import * as crypto from "crypto";
import * as path from "path";
import { excludeMatcher } from "./exclude";
import { hashFile } from "./hash";
import { HashCache } from "./hashCache";
import { DEFAULT_DIR_MODE, EntryKind, Manifest, ManifestEntry } from "./types";
import { SymlinkPolicy, walkSource } from "./walk";

/** sha256 (hex) of a symlink's target text: what a link entry carries as its content hash. */
export function linkSha256(target: string): string {
    return crypto.createHash("sha256").update(target, "utf8").digest("hex");
}

const EMPTY_SHA256 = crypto.createHash("sha256").digest("hex");

/** The mode a symlink has in a manifest (Linux shows every link as 0777). */
export const LINK_MODE = 0o777;

export function linkEntry(target: string): ManifestEntry {
    return { type: "symlink", target, mode: LINK_MODE, size: Buffer.byteLength(target, "utf8"), sha256: linkSha256(target) };
}

export function dirEntry(mode: number): ManifestEntry {
    return { type: "dir", mode, size: 0, sha256: EMPTY_SHA256 };
}

export function entryKind(e: Pick<ManifestEntry, "type">): EntryKind {
    return e.type ?? "file";
}

/** True when the manifest has only regular files (what every manifest before links and folders were kept looked like). */
export function onlyFiles(m: Manifest): boolean {
    for (const e of m.entries.values()) if (e.type) return false;
    return true;
}

/**
 * Every folder of a directory manifest, relative (not the root ""): the
 * listed folder entries and the parents of every entry. A folder that is
 * only implied has {@link DEFAULT_DIR_MODE}.
 */
export function foldersOf(m: Manifest): Map<string, number> {
    const out = new Map<string, number>();
    if (m.kind !== "dir") return out;
    for (const [p, e] of m.entries) {
        if (e.type === "dir") out.set(p, e.mode);
        for (let d = path.posix.dirname(p); d !== "." && !out.has(d); d = path.posix.dirname(d)) out.set(d, m.entries.get(d)?.mode ?? DEFAULT_DIR_MODE);
    }
    return out;
}

/** Where manifest path `p` of a source lives on this machine (the source itself for a single file). */
export function sourcePath(source: string, kind: Manifest["kind"], p: string): string {
    return kind === "file" ? source : path.join(source, ...p.split("/"));
}

/** Code-unit order: the one order every encoding and digest here uses. */
export function comparePaths(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

export function sortedPaths(m: Manifest): string[] {
    // The default sort compares UTF-16 code units, as comparePaths does, without a call per comparison.
    return [...m.entries.keys()].sort();
}

export interface BuildOptions {
    /** Where hashes of unchanged files are remembered between runs; false to hash everything. Default: a HashCache in the default cache folder. */
    cache?: HashCache | false;
    /** What a symlink under the source becomes (see WalkOptions). Default: "preserve". */
    symlinks?: SymlinkPolicy;
}

/** Walks and hashes a source into a manifest, re-hashing only files whose identity changed since the cache saw them. */
export function buildManifest(source: string, exclude: readonly string[] = [], options: BuildOptions = {}): Manifest {
    const walked = walkSource(source, excludeMatcher(exclude), { symlinks: options.symlinks });
    const cache = options.cache === undefined ? new HashCache(source) : options.cache;
    const entries = new Map<string, ManifestEntry>();
    for (const f of walked.files) {
        const sha256 = cache ? cache.hash(f.path, f.id, () => hashFile(f.absPath)) : hashFile(f.absPath);
        entries.set(f.path, { mode: f.mode, size: f.size, sha256 });
    }
    for (const l of walked.links) entries.set(l.path, linkEntry(l.target));
    // Only the folders a tree's paths do not already imply: see Manifest.
    for (const d of walked.dirs) if (d.empty || d.mode !== DEFAULT_DIR_MODE) entries.set(d.path, dirEntry(d.mode));
    if (cache) cache.save();
    return { kind: walked.kind, entries };
}

export function formatMode(mode: number): string {
    return mode.toString(8).padStart(4, "0");
}

const LINK_PREFIX = "link -> ";

/** The per-path value shown in previews: `"0644 sha256:9f…"` for a file, `"link -> ../lib/x.js"` for a symlink, `"0755 dir"` for a folder. */
export function fileMapValue(e: Pick<ManifestEntry, "mode" | "sha256" | "type" | "target">): string {
    if (e.type === "symlink") return LINK_PREFIX + (e.target ?? "");
    if (e.type === "dir") return `${formatMode(e.mode)} dir`;
    return `${formatMode(e.mode)} sha256:${e.sha256}`;
}

/** path → `"<octal mode> sha256:<hex>"`, the map input whose diff the engine shows per file. */
export function toFileMap(m: Manifest): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of sortedPaths(m)) out[p] = fileMapValue(m.entries.get(p)!);
    return out;
}

const FILE_MAP_VALUE = /^([0-7]{3,4}) sha256:([0-9a-f]{64})$/;
const DIR_MAP_VALUE = /^([0-7]{3,4}) dir$/;

/** Reads one file-map value back (size 0 for a file: the map has no sizes); undefined when it is not of one of the forms {@link fileMapValue} writes. */
export function parseFileMapValue(v: string): ManifestEntry | undefined {
    if (v.startsWith(LINK_PREFIX)) return linkEntry(v.slice(LINK_PREFIX.length));
    const d = DIR_MAP_VALUE.exec(v);
    if (d) return dirEntry(parseInt(d[1], 8));
    const m = FILE_MAP_VALUE.exec(v);
    return m ? { mode: parseInt(m[1], 8), size: 0, sha256: m[2] } : undefined;
}

/**
 * v1 covers files only. A manifest with links or folder entries is digested
 * as v2, which adds their lines; a tree of files alone keeps its v1 digest,
 * so upgrading pulumi-delta shows no change for the stacks deployed before.
 */
const DIGEST_V1 = "pulumi-delta manifest v1";
const DIGEST_V2 = "pulumi-delta manifest v2";

/**
 * sha256 over a version line, the kind, then per path in order a line:
 * `path\0mode\0size\0sha256\n` for a file, `path\0symlink\0<sha256 of the
 * target>\n` for a link, `path\0dir\0mode\n` for a folder. mtimes are not
 * in it: an mtime alone is not a change.
 */
export function manifestDigest(m: Manifest): string {
    const h = crypto.createHash("sha256");
    h.update(`${onlyFiles(m) ? DIGEST_V1 : DIGEST_V2}\n${m.kind}\n`);
    for (const p of sortedPaths(m)) {
        const e = m.entries.get(p)!;
        if (e.type === "symlink") h.update(`${p}\0symlink\0${e.sha256}\n`);
        else if (e.type === "dir") h.update(`${p}\0dir\0${formatMode(e.mode)}\n`);
        else h.update(`${p}\0${formatMode(e.mode)}\0${e.size}\0${e.sha256}\n`);
    }
    return "sha256:" + h.digest("hex");
}

/** Bytes of the regular files (what a full copy sends). */
export function totalBytes(m: Manifest): number {
    let n = 0;
    for (const e of m.entries.values()) if (!e.type) n += e.size;
    return n;
}

/** How many entries of each kind. */
export function countKinds(m: Manifest): Record<EntryKind, number> {
    const n = { file: 0, symlink: 0, dir: 0 };
    for (const e of m.entries.values()) n[entryKind(e)]++;
    return n;
}
