import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { keepNewest, writeCacheFile } from "./cacheFiles";

/**
 * What a file looked like when it was hashed. A cached hash is reused only
 * when every field still matches: a rewrite that keeps the size and mtime
 * still changes ctime (and usually the inode, for editors that rename).
 */
export interface FileIdentity {
    dev: bigint;
    ino: bigint;
    size: bigint;
    mtimeNs: bigint;
    ctimeNs: bigint;
}

interface CacheFile {
    version: 2;
    /** When this cache file was written (ms): the racy-write rule compares mtimes with it. */
    writtenAtMs: number;
    /** relative path → ["dev:ino:size:mtimeNs:ctimeNs", sha256]: one string to compare per file keeps a no-change preview cheap. */
    entries: Record<string, [string, string]>;
}

/** Where caches live: `$PULUMI_DELTA_CACHE_DIR`, else `$XDG_CACHE_HOME/pulumi-delta`, else `~/.cache/pulumi-delta`. */
export function defaultCacheDir(): string {
    return process.env.PULUMI_DELTA_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "pulumi-delta");
}

/** Upper bound on the hash cache files kept (one per source tree); the least recently used go first. */
const MAX_CACHE_FILES = 64;
const MAX_CACHE_BYTES = 256 * 1024 * 1024;

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
    private previous: CacheFile["entries"] = {};
    private racyFromNs = 0n;
    private readonly next: CacheFile["entries"] = {};
    /** Files hashed (not served from the cache) since this object was made. */
    hashed = 0;
    reused = 0;

    constructor(
        readonly root: string,
        readonly dir: string = defaultCacheDir(),
    ) {
        this.file = path.join(dir, "hashes", crypto.createHash("sha256").update(path.resolve(root)).digest("hex").slice(0, 32) + ".json");
        try {
            const parsed = JSON.parse(fs.readFileSync(this.file, "utf8")) as CacheFile;
            if (parsed.version === 2) {
                this.previous = parsed.entries;
                // Entries of files modified in (or after) the second the cache was written are not trusted.
                this.racyFromNs = BigInt(Math.floor(parsed.writtenAtMs / 1000)) * 1_000_000_000n;
            }
        } catch {
            // No cache yet, or an unreadable one: everything is hashed.
        }
    }

    /** The cached hash when `id` matches and is not racily new; else `compute()`'s, remembered. */
    hash(rel: string, id: FileIdentity, compute: () => string): string {
        const key = `${id.dev}:${id.ino}:${id.size}:${id.mtimeNs}:${id.ctimeNs}`;
        const old = this.previous[rel];
        const racy = id.mtimeNs >= this.racyFromNs;
        if (old && !racy && old[0] === key) {
            this.next[rel] = old;
            this.reused++;
            return old[1];
        }
        const sha = compute();
        this.hashed++;
        this.next[rel] = [key, sha];
        return sha;
    }

    /** Writes what this run saw (and only that: deleted files drop out), then bounds the cache folder. */
    save(): void {
        // Nothing new and nothing gone: the file on disk already says all this (and stays older than the files, so nothing turns racy).
        if (this.hashed === 0 && Object.keys(this.previous).length === this.reused) return;
        try {
            const body: CacheFile = { version: 2, writtenAtMs: Date.now(), entries: this.next };
            writeCacheFile(this.file, JSON.stringify(body));
            keepNewest(path.dirname(this.file), ".json", MAX_CACHE_FILES, MAX_CACHE_BYTES);
        } catch {
            // A cache that cannot be written costs time, never correctness.
        }
    }
}
