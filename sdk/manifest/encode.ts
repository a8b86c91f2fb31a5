import * as zlib from "zlib";
import { comparePaths, dirEntry, linkEntry, onlyFiles, sortedPaths } from "./manifest";
import { Manifest, ManifestEntry } from "./types";

/**
 * Compact encodings kept in Pulumi state as one string each: the engine pays
 * per map entry on every preview, but little for one long string.
 *
 * Manifest layout (before raw deflate and base64): kind byte, entry count, then
 * per entry in path order: shared-prefix length with the previous path, the
 * rest of the path (UTF-8), mode, size (all varints) and the 32-byte sha256.
 *
 * An abbreviated manifest (`pdma:`) has the hash length after the count and
 * only that many leading bytes of each hash.
 *
 * `pdm2:` (a manifest with symlinks or folder entries) has the hash length
 * after the count too (32, or fewer when abbreviated), and its mode varint
 * is `mode * 4 + kind` (0 file, 1 symlink, 2 folder; two bytes either way
 * for usual modes); a file goes on as before, a symlink with its target's
 * byte length and bytes, a folder with nothing more. A manifest of files
 * alone is still written as `pdm1:` (or `pdma:`), so that state of such a
 * tree stays readable by earlier versions.
 */
const MANIFEST_TAG = "pdm1:";
const ABBREVIATED_TAG = "pdma:";
const MANIFEST_TAG_V2 = "pdm2:";
const KIND_CODE = { file: 0, symlink: 1, dir: 2 } as const;
const PATHS_TAG = "pdp1:";
const NUMBERS_TAG = "pdn1:";

class Writer {
    private chunks: Buffer[] = [];
    private cur = Buffer.allocUnsafe(64 * 1024);
    private pos = 0;
    private room(n: number) {
        if (this.pos + n <= this.cur.length) return;
        this.chunks.push(this.cur.subarray(0, this.pos));
        this.cur = Buffer.allocUnsafe(Math.max(64 * 1024, n));
        this.pos = 0;
    }
    varint(n: number) {
        this.room(10);
        // Division, not bit operations: sizes exceed 32 bits.
        while (n >= 0x80) {
            this.cur[this.pos++] = (n % 0x80) | 0x80;
            n = Math.floor(n / 0x80);
        }
        this.cur[this.pos++] = n;
    }
    bytes(b: Buffer) {
        this.room(b.length);
        b.copy(this.cur, this.pos);
        this.pos += b.length;
    }
    done(): Buffer {
        return Buffer.concat([...this.chunks, this.cur.subarray(0, this.pos)]);
    }
}

class Reader {
    pos = 0;
    constructor(private readonly buf: Buffer) {}
    varint(): number {
        let n = 0;
        let scale = 1;
        for (;;) {
            if (this.pos >= this.buf.length) throw new Error("truncated");
            const b = this.buf[this.pos++];
            n += (b & 0x7f) * scale;
            if (b < 0x80) return n;
            scale *= 0x80;
        }
    }
    bytes(n: number): Buffer {
        if (this.pos + n > this.buf.length) throw new Error("truncated");
        const b = this.buf.subarray(this.pos, this.pos + n);
        this.pos += n;
        return b;
    }
}

/** Writes `cur` as its shared-prefix length with `prev`, then the rest. */
function writePath(w: Writer, prev: Buffer, cur: Buffer) {
    let shared = 0;
    const max = Math.min(prev.length, cur.length);
    while (shared < max && prev[shared] === cur[shared]) shared++;
    w.varint(shared);
    w.varint(cur.length - shared);
    w.bytes(cur.subarray(shared));
}

function readPath(r: Reader, prev: Buffer): Buffer {
    const shared = r.varint();
    const rest = r.bytes(r.varint());
    return Buffer.concat([prev.subarray(0, shared), rest]);
}

function pack(tag: string, raw: Buffer, level = 9): string {
    return tag + zlib.deflateRawSync(raw, { level }).toString("base64");
}

function unpack(tag: string, s: string, what: string): Buffer {
    if (typeof s !== "string" || !s.startsWith(tag)) throw new Error(`${what} in state is not in a format this version reads (expected ${tag}…)`);
    return zlib.inflateRawSync(Buffer.from(s.slice(tag.length), "base64"));
}

export interface ManifestEncoding {
    /** deflate's level: state keeps the default 9 (smallest), the host's ledger, written on every deployment, takes 1. */
    level?: number;
    /**
     * Leading bytes of each sha256 kept (default all 32). Fewer make an
     * abbreviated manifest, whose entries carry that prefix as their
     * `sha256`: enough to tell a changed file (see `sameContent`), not to
     * verify one.
     */
    hashBytes?: number;
}

export function encodeManifest(m: Manifest, options: ManifestEncoding = {}): string {
    const hashBytes = options.hashBytes ?? 32;
    if (!Number.isInteger(hashBytes) || hashBytes < 1 || hashBytes > 32) throw new Error(`hashBytes must be 1 to 32, got ${hashBytes}`);
    const w = new Writer();
    const paths = sortedPaths(m);
    const v2 = !onlyFiles(m);
    w.varint(m.kind === "file" ? 1 : 0);
    w.varint(paths.length);
    if (v2 || hashBytes < 32) w.varint(hashBytes);
    let prev: Buffer = Buffer.alloc(0);
    for (const p of paths) {
        const e = m.entries.get(p)!;
        const cur = Buffer.from(p, "utf8");
        writePath(w, prev, cur);
        prev = cur;
        if (!v2) {
            w.varint(e.mode);
        } else {
            w.varint(e.mode * 4 + KIND_CODE[e.type ?? "file"]);
            if (e.type === "symlink") {
                const target = Buffer.from(e.target ?? "", "utf8");
                w.varint(target.length);
                w.bytes(target);
                continue;
            }
            if (e.type === "dir") continue;
        }
        w.varint(e.size);
        w.bytes(Buffer.from(e.sha256.slice(0, 2 * hashBytes), "hex"));
    }
    return pack(v2 ? MANIFEST_TAG_V2 : hashBytes < 32 ? ABBREVIATED_TAG : MANIFEST_TAG, w.done(), options.level);
}

export function decodeManifest(s: string): Manifest {
    const tag = [MANIFEST_TAG_V2, ABBREVIATED_TAG].find((t) => typeof s === "string" && s.startsWith(t)) ?? MANIFEST_TAG;
    const v2 = tag === MANIFEST_TAG_V2;
    const r = new Reader(unpack(tag, s, "the deployed manifest"));
    const kind = r.varint() === 1 ? "file" : "dir";
    const count = r.varint();
    const hashBytes = tag === MANIFEST_TAG ? 32 : r.varint();
    const entries = new Map<string, ManifestEntry>();
    let prev: Buffer = Buffer.alloc(0);
    for (let i = 0; i < count; i++) {
        prev = readPath(r, prev);
        let mode = r.varint();
        if (v2) {
            const code = mode % 4;
            mode = Math.floor(mode / 4);
            if (code === KIND_CODE.symlink) {
                entries.set(prev.toString("utf8"), linkEntry(r.bytes(r.varint()).toString("utf8")));
                continue;
            }
            if (code === KIND_CODE.dir) {
                entries.set(prev.toString("utf8"), dirEntry(mode));
                continue;
            }
        }
        const size = r.varint();
        const sha256 = r.bytes(hashBytes).toString("hex");
        entries.set(prev.toString("utf8"), { mode, size, sha256 });
    }
    return { kind, entries };
}

/** A sorted list of paths, prefix-compressed. */
export function encodePaths(paths: readonly string[]): string {
    const w = new Writer();
    const sorted = [...paths].sort(comparePaths);
    w.varint(sorted.length);
    let prev: Buffer = Buffer.alloc(0);
    for (const p of sorted) {
        const cur = Buffer.from(p, "utf8");
        writePath(w, prev, cur);
        prev = cur;
    }
    return pack(PATHS_TAG, w.done());
}

export function decodePaths(s: string): string[] {
    const r = new Reader(unpack(PATHS_TAG, s, "the list of created directories"));
    const n = r.varint();
    const out: string[] = [];
    let prev: Buffer = Buffer.alloc(0);
    for (let i = 0; i < n; i++) {
        prev = readPath(r, prev);
        out.push(prev.toString("utf8"));
    }
    return out;
}

/** A list of non-negative integers (mtimes, indexes), as varints. */
export function encodeNumbers(ns: readonly number[]): string {
    const w = new Writer();
    w.varint(ns.length);
    for (const n of ns) w.varint(n);
    // Written on every deployment (the host's ledger), not kept in state: speed over the last few bytes.
    return pack(NUMBERS_TAG, w.done(), 1);
}

export function decodeNumbers(s: string): number[] {
    const r = new Reader(unpack(NUMBERS_TAG, s, "a list of numbers"));
    const n = r.varint();
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(r.varint());
    return out;
}
