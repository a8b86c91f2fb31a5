import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { keepNewest, writeCacheFile } from "./cacheFiles";

/**
 * What a file looked like when it was hashed. A cached hash is reused only
 * when every field still matches: a rewrite that keeps the size and mtime
 * still changes ctime (and usually the inode, for editors that rename).
 * Plain numbers, as `fs.lstatSync` gives them without `bigint`: a double
 * holds an inode below 2^53 exactly and a time to a fraction of a
 * microsecond. With BigInt stats and a JSON file of string keys, a
 * no-change walk of 100,000 files took 1.2–1.5 s of CPU here; with these,
 * 1.1 s.
 */
export interface FileIdentity {
    dev: number;
    ino: number;
    size: number;
    mtimeMs: number;
    ctimeMs: number;
}

/**
 * The cache file, binary: a magic line, the time it was written (float64 ms),
 * the entry count (uint32), then per entry the path's UTF-8 length (uint16)
 * and bytes, the five identity fields (float64 each) and the 32-byte sha256.
 * Reading it builds one map of path → offset; the identity is compared in
 * the buffer and only a match decodes its hash.
 */
const MAGIC = Buffer.from("pulumi-delta hashes v3\n");
const FIELDS = 5;
const SHA_BYTES = 32;
const TAIL = FIELDS * 8 + SHA_BYTES;

/** Where caches live: `$PULUMI_DELTA_CACHE_DIR`, else `$XDG_CACHE_HOME/pulumi-delta`, else `~/.cache/pulumi-delta`. */
export function defaultCacheDir(): string {
    return process.env.PULUMI_DELTA_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "pulumi-delta");
}

/** Upper bound on the hash cache files kept (one per source tree); the least recently used go first. */
const MAX_CACHE_FILES = 64;
const MAX_CACHE_BYTES = 256 * 1024 * 1024;

interface Loaded {
    buf: Buffer;
    /** path → offset of its identity fields in `buf`. */
    at: Map<string, number>;
    writtenAtMs: number;
}

function load(file: string): Loaded | undefined {
    let buf: Buffer;
    try {
        buf = fs.readFileSync(file);
    } catch {
        return undefined;
    }
    if (buf.length < MAGIC.length + 12 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
    let pos = MAGIC.length;
    const writtenAtMs = buf.readDoubleLE(pos);
    const count = buf.readUInt32LE(pos + 8);
    pos += 12;
    const at = new Map<string, number>();
    for (let i = 0; i < count; i++) {
        if (pos + 2 > buf.length) return undefined;
        const len = buf.readUInt16LE(pos);
        pos += 2;
        if (pos + len + TAIL > buf.length) return undefined;
        at.set(buf.toString("utf8", pos, pos + len), pos + len);
        pos += len + TAIL;
    }
    return { buf, at, writtenAtMs };
}

function sameIdentity(buf: Buffer, at: number, id: FileIdentity): boolean {
    return (
        buf.readDoubleLE(at) === id.dev &&
        buf.readDoubleLE(at + 8) === id.ino &&
        buf.readDoubleLE(at + 16) === id.size &&
        buf.readDoubleLE(at + 24) === id.mtimeMs &&
        buf.readDoubleLE(at + 32) === id.ctimeMs
    );
}

/**
 * sha256 of a source tree's files, remembered between runs so that an
 * unchanged tree is only stat'ed. One cache file per source root, replaced
 * atomically (two programs at once: the last writer wins, both correct).
 * Like git's index, an entry is trusted only if the file's mtime is older
 * than the second the entry was written in: a file changed within the
 * filesystem's timestamp granularity after hashing is hashed again.
 */
export class HashCache {
    private readonly file: string;
    private readonly previous: Loaded | undefined;
    private readonly racyFromMs: number;
    private readonly next: { rel: string; id: FileIdentity; sha256: string }[] = [];
    /** Files hashed (not served from the cache) since this object was made. */
    hashed = 0;
    reused = 0;

    constructor(
        readonly root: string,
        readonly dir: string = defaultCacheDir(),
    ) {
        this.file = path.join(dir, "hashes", crypto.createHash("sha256").update(path.resolve(root)).digest("hex").slice(0, 32) + ".bin");
        // No cache yet, or an unreadable one: everything is hashed.
        this.previous = load(this.file);
        // Entries of files modified in (or after) the second the cache was written are not trusted.
        this.racyFromMs = this.previous ? Math.floor(this.previous.writtenAtMs / 1000) * 1000 : 0;
    }

    /** The cached hash when `id` matches and is not racily new; else `compute()`'s, remembered. */
    hash(rel: string, id: FileIdentity, compute: () => string): string {
        const at = this.previous?.at.get(rel);
        if (at !== undefined && id.mtimeMs < this.racyFromMs && sameIdentity(this.previous!.buf, at, id)) {
            const sha256 = this.previous!.buf.toString("hex", at + FIELDS * 8, at + TAIL);
            this.next.push({ rel, id, sha256 });
            this.reused++;
            return sha256;
        }
        const sha256 = compute();
        this.hashed++;
        this.next.push({ rel, id, sha256 });
        return sha256;
    }

    /** Writes what this run saw (and only that: deleted files drop out), then bounds the cache folder. */
    save(): void {
        // Nothing new and nothing gone: the file on disk already says all this (and stays older than the files, so nothing turns racy).
        if (this.hashed === 0 && this.previous && this.previous.at.size === this.reused) return;
        try {
            writeCacheFile(this.file, this.encode(Date.now()));
            keepNewest(path.dirname(this.file), ".bin", MAX_CACHE_FILES, MAX_CACHE_BYTES);
        } catch {
            // A cache that cannot be written costs time, never correctness.
        }
    }

    private encode(writtenAtMs: number): Buffer {
        const names = this.next.map((e) => Buffer.from(e.rel, "utf8"));
        let size = MAGIC.length + 12;
        for (const n of names) size += 2 + n.length + TAIL;
        const buf = Buffer.allocUnsafe(size);
        let pos = MAGIC.copy(buf, 0);
        pos = buf.writeDoubleLE(writtenAtMs, pos);
        pos = buf.writeUInt32LE(this.next.length, pos);
        this.next.forEach((e, i) => {
            // A path past 64 KiB cannot be opened on Linux (PATH_MAX is 4 KiB): never written.
            pos = buf.writeUInt16LE(names[i].length, pos);
            pos += names[i].copy(buf, pos);
            for (const v of [e.id.dev, e.id.ino, e.id.size, e.id.mtimeMs, e.id.ctimeMs]) pos = buf.writeDoubleLE(v, pos);
            pos += buf.write(e.sha256, pos, SHA_BYTES, "hex");
        });
        return buf;
    }
}
