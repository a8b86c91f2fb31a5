import * as crypto from "crypto";
import * as path from "path";
import { excludeMatcher } from "./exclude";
import { hashFile } from "./hash";
import { HashCache } from "./hashCache";
import { Manifest, ManifestEntry } from "./types";
import { walkSource } from "./walk";

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
}

/** Walks and hashes a source into a manifest, re-hashing only files whose identity changed since the cache saw them. */
export function buildManifest(source: string, exclude: readonly string[] = [], options: BuildOptions = {}): Manifest {
    const walked = walkSource(source, excludeMatcher(exclude));
    const cache = options.cache === undefined ? new HashCache(source) : options.cache;
    const entries = new Map<string, ManifestEntry>();
    for (const f of walked.files) {
        const sha256 = cache ? cache.hash(f.path, f.id, () => hashFile(f.absPath)) : hashFile(f.absPath);
        entries.set(f.path, { mode: f.mode, size: f.size, sha256 });
    }
    if (cache) cache.save();
    return { kind: walked.kind, entries };
}

export function formatMode(mode: number): string {
    return mode.toString(8).padStart(4, "0");
}

/** The per-file value shown in previews: `"0644 sha256:9f…"`. */
export function fileMapValue(e: Pick<ManifestEntry, "mode" | "sha256">): string {
    return `${formatMode(e.mode)} sha256:${e.sha256}`;
}

/** path → `"<octal mode> sha256:<hex>"`, the map input whose diff the engine shows per file. */
export function toFileMap(m: Manifest): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of sortedPaths(m)) out[p] = fileMapValue(m.entries.get(p)!);
    return out;
}

const FILE_MAP_VALUE = /^([0-7]{3,4}) sha256:([0-9a-f]{64})$/;

/** Reads one file-map value back; undefined when it is not of that form. */
export function parseFileMapValue(v: string): { mode: number; sha256: string } | undefined {
    const m = FILE_MAP_VALUE.exec(v);
    return m ? { mode: parseInt(m[1], 8), sha256: m[2] } : undefined;
}

const DIGEST_VERSION = "pulumi-delta manifest v1";

/** sha256 over the sorted lines `path\0mode\0size\0sha256\n`, after a version line and the kind. */
export function manifestDigest(m: Manifest): string {
    const h = crypto.createHash("sha256");
    h.update(`${DIGEST_VERSION}\n${m.kind}\n`);
    for (const p of sortedPaths(m)) {
        const e = m.entries.get(p)!;
        h.update(`${p}\0${formatMode(e.mode)}\0${e.size}\0${e.sha256}\n`);
    }
    return "sha256:" + h.digest("hex");
}

export function totalBytes(m: Manifest): number {
    let n = 0;
    for (const e of m.entries.values()) n += e.size;
    return n;
}
