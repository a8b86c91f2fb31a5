import * as crypto from "crypto";
import * as fs from "fs";
import * as pathModule from "path";
import { Worker } from "worker_threads";

/**
 * Content-defined chunking (FastCDC, Xia et al. 2016/2020) for large files.
 *
 * A gear hash (`h = (h << 1) + GEAR[byte]`, 32 bits) rolls over the data; a
 * chunk ends where the top bits of `h` are all zero. Because each step
 * shifts left by one, bit 31 depends on the last 32 bytes only, so a
 * boundary depends on nothing but the 32 bytes before it and an edit moves
 * at most the boundaries next to it. Normalization level 2 uses a harder
 * mask (avg bits + 2) before the average size and an easier one (avg bits
 * - 2) after it, which pulls chunk sizes towards the average.
 *
 * The gear hash only picks boundaries; chunk identity is sha256.
 */

/** One chunk of a file. */
export interface Chunk {
    offset: number;
    length: number;
    /** sha256 of the chunk's bytes, lower-case hex. */
    sha256: string;
}

/** Chunk size bounds, in bytes. `avg` must be a power of two. */
export interface ChunkParams {
    min: number;
    avg: number;
    max: number;
}

/** Files at or above this size are chunked; smaller ones are sent whole. */
export const CHUNKING_THRESHOLD = 8 * 1024 * 1024;

/**
 * Defaults: min 16 KiB / avg 64 KiB / max 256 KiB. Measured on a 256 MiB
 * random file, mean of 5 edits: 3,577 chunks (≈ 143 KB as binary
 * sha256 + offset/length, vs 28,791 and 1.15 MB at 8 KiB avg); a 1 MiB
 * overwrite makes 1.26 MB of new chunks and a 100 B insert at the start
 * 63 KB, together well under the 1.63 MB rsync sends for both. 32 KiB avg
 * saves ≈ 0.15 MB per edit but doubles the list; 256 KiB avg sends
 * 1.62 + 0.16 MB. ≈ 550 MB/s with sha256 per chunk, plain JS.
 */
export const DEFAULT_CHUNK_PARAMS: Readonly<ChunkParams> = Object.freeze({ min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 });

/**
 * The seed of the gear table. Changing it (or the generator) changes every
 * boundary, i.e. every stored chunk list: bump {@link CHUNKING_VERSION} then.
 */
export const GEAR_SEED = "pulumi-delta gear v1";

/** Identifies the boundary algorithm + gear table, for stored chunk lists. */
export const CHUNKING_VERSION = 1;

/**
 * 256 pseudo-random 32-bit words: word i is the first 4 bytes (big-endian)
 * of sha256(`${GEAR_SEED}:${i}`). Deterministic across machines and Node
 * versions, unlike Math.random, and needs no table pasted into the source.
 */
export const GEAR: Uint32Array = (() => {
    const t = new Uint32Array(256);
    for (let i = 0; i < 256; i++) t[i] = crypto.createHash("sha256").update(`${GEAR_SEED}:${i}`).digest().readUInt32BE(0);
    return t;
})();

/** A mask of the `bits` highest bits of a 32-bit word (they depend on the last 32 bytes). */
function topMask(bits: number): number {
    return bits <= 0 ? 0 : bits >= 32 ? -1 : (((1 << bits) - 1) << (32 - bits)) | 0;
}

function log2Exact(n: number): number {
    const b = Math.log2(n);
    return Number.isInteger(b) ? b : -1;
}

/** Throws unless `p` is usable: 64 ≤ min ≤ avg ≤ max, avg a power of two. */
export function validateChunkParams(p: ChunkParams): void {
    const ok =
        Number.isSafeInteger(p.min) && Number.isSafeInteger(p.avg) && Number.isSafeInteger(p.max) && p.min >= 64 && p.min <= p.avg && p.avg <= p.max && log2Exact(p.avg) >= 8;
    if (!ok) throw new RangeError(`invalid chunk sizes min=${p.min} avg=${p.avg} max=${p.max}: need 64 ≤ min ≤ avg ≤ max and avg a power of two ≥ 256`);
}

/**
 * Length of the chunk that starts at `start` in `buf[start, end)`. The caller
 * guarantees that `end - start ≥ max` unless the data ends at `end`.
 */
function cutPoint(buf: Uint8Array, start: number, end: number, min: number, avg: number, max: number, maskS: number, maskL: number): number {
    let n = end - start;
    if (n <= min) return n;
    if (n > max) n = max;
    const normal = n < avg ? n : avg;
    const gear = GEAR;
    let h = 0;
    // Bytes before `min` cannot end a chunk, so skip them. Every bit of a
    // 32-bit gear hash depends on the last 32 bytes only (older ones are
    // shifted out), so rolling from 32 bytes before `min` gives exactly the
    // hash a roll from the chunk start would.
    let i = start + Math.max(0, min - 32);
    const minEnd = start + min;
    for (; i < minEnd; i++) h = ((h << 1) + gear[buf[i]]) | 0;
    const normalEnd = start + normal;
    for (; i < normalEnd; i++) {
        h = ((h << 1) + gear[buf[i]]) | 0;
        if ((h & maskS) === 0) return i + 1 - start;
    }
    const stop = start + n;
    for (; i < stop; i++) {
        h = ((h << 1) + gear[buf[i]]) | 0;
        if ((h & maskL) === 0) return i + 1 - start;
    }
    return n;
}

/**
 * Splits bytes pushed in order into chunks, keeping at most one read block
 * plus one maximum-size chunk in memory. Use {@link chunkFile} or
 * {@link chunkBuffer} unless the bytes arrive from a stream.
 */
export class Chunker {
    private readonly p: ChunkParams;
    private readonly maskS: number;
    private readonly maskL: number;
    private pending: Buffer = Buffer.alloc(0);
    private offset: number;
    private readonly out: Chunk[] = [];

    /** `startOffset`: the file offset of the first byte pushed (chunk offsets are the file's). */
    constructor(params: ChunkParams = DEFAULT_CHUNK_PARAMS, startOffset = 0) {
        this.offset = startOffset;
        validateChunkParams(params);
        this.p = { ...params };
        const bits = log2Exact(params.avg);
        this.maskS = topMask(bits + 2);
        this.maskL = topMask(bits - 2);
    }

    /** Feeds the next bytes; chunks that are certain are emitted now. */
    push(data: Uint8Array): void {
        const buf = this.pending.length ? Buffer.concat([this.pending, data]) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        const pos = this.cut(buf, false);
        // Copy the tail: `data` may be a block the caller reuses.
        this.pending = Buffer.from(buf.subarray(pos));
    }

    /** The chunks emitted so far (certain whatever follows), in file order. */
    get emitted(): readonly Chunk[] {
        return this.out;
    }

    /** Ends the input and returns every chunk, in file order. */
    finish(): Chunk[] {
        this.cut(this.pending, true);
        this.pending = Buffer.alloc(0);
        return this.out;
    }

    /** Emits the chunks of `buf` that cannot change with more input; returns where it stopped. */
    private cut(buf: Buffer, final: boolean): number {
        const { min, avg, max } = this.p;
        let pos = 0;
        while (pos < buf.length && (final || buf.length - pos >= max)) {
            const len = cutPoint(buf, pos, buf.length, min, avg, max, this.maskS, this.maskL);
            this.out.push({ offset: this.offset, length: len, sha256: crypto.createHash("sha256").update(buf.subarray(pos, pos + len)).digest("hex") });
            this.offset += len;
            pos += len;
        }
        return pos;
    }
}

/** Chunks of bytes already in memory (tests, small inputs). */
export function chunkBuffer(data: Uint8Array, params: ChunkParams = DEFAULT_CHUNK_PARAMS): Chunk[] {
    const c = new Chunker(params);
    c.push(data);
    return c.finish();
}

/** Bytes read per call: large enough that read overhead vanishes, small enough to stay in cache. */
const READ_BLOCK = 4 * 1024 * 1024;

/**
 * Chunks a file, reading it in 4 MiB blocks (never whole). Synchronous reads:
 * they are markedly faster than promise-based ones here (PERF-NOTES), and
 * the CPU work dominates anyway.
 */
export function chunkFileSync(path: string, params: ChunkParams = DEFAULT_CHUNK_PARAMS): Chunk[] {
    const c = new Chunker(params);
    const fd = fs.openSync(path, "r");
    try {
        // One buffer reused across reads: Chunker.push copies what it keeps.
        const block = Buffer.allocUnsafe(Math.max(READ_BLOCK, params.max));
        for (;;) {
            const n = fs.readSync(fd, block, 0, block.length, null);
            if (n === 0) break;
            c.push(block.subarray(0, n));
        }
    } finally {
        fs.closeSync(fd);
    }
    return c.finish();
}

/**
 * Chunks bytes `[start, end)` of a file as if the file began at `start`
 * (offsets are the file's), the last chunk ending at `end`. Run in a worker
 * by {@link chunkFile} for the second half of a large file.
 */
export function chunkRangeSync(path: string, start: number, end: number, params: ChunkParams = DEFAULT_CHUNK_PARAMS): Chunk[] {
    const c = new Chunker(params, start);
    const fd = fs.openSync(path, "r");
    try {
        const block = Buffer.allocUnsafe(Math.max(READ_BLOCK, params.max));
        for (let at = start; at < end; ) {
            const n = fs.readSync(fd, block, 0, Math.min(block.length, end - at), at);
            if (n === 0) break;
            c.push(block.subarray(0, n));
            at += n;
        }
    } finally {
        fs.closeSync(fd);
    }
    return c.finish();
}

/** Files at least this large are chunked on two threads by {@link chunkFile}; below it a thread costs more than it saves. */
export const PARALLEL_CHUNKING_MIN = 32 * 1024 * 1024;
/** How far past the middle the first thread may go looking for a boundary the second one also found. */
const RESYNC_WINDOW = 64 * 1024 * 1024;
/** Bytes fed per step while looking for that boundary: a few maximum-size chunks. */
const RESYNC_STEP = 1024 * 1024;

/** How often {@link chunkFile} joined a worker's chunks to its own at a shared boundary (tests read it to know the two-thread path ran). */
export const twoThreadChunking = { joined: 0 };

/** The chunks of bytes `[start, end)` of a file, made on a worker thread; undefined if the worker failed (the caller then chunks on its own). */
export function chunkInWorker(path: string, start: number, end: number, params: ChunkParams = DEFAULT_CHUNK_PARAMS): Promise<Chunk[] | undefined> {
    return new Promise((resolve) => {
        let worker: Worker;
        try {
            worker = new Worker(pathModule.join(__dirname, "chunkWorker.js"), { workerData: { path, start, end, params } });
        } catch {
            return resolve(undefined);
        }
        worker.once("message", (chunks: Chunk[]) => resolve(chunks));
        worker.once("error", () => resolve(undefined));
        worker.once("exit", () => resolve(undefined));
    });
}

/**
 * Chunks a file, never holding it whole, letting the event loop run between
 * blocks. A large file is chunked on two threads, giving the same chunks as
 * one thread would: a worker chunks the second half from its middle while
 * this thread chunks the first half, then this thread goes on past the
 * middle until it ends a chunk exactly where one of the worker's chunks
 * starts. A boundary depends only on the bytes since the chunk's start, so
 * from such a shared boundary on the worker's chunks are the sequential
 * ones; this takes a chunk or two, as boundaries resynchronize quickly.
 */
export async function chunkFile(path: string, params: ChunkParams = DEFAULT_CHUNK_PARAMS): Promise<Chunk[]> {
    const fh = await fs.promises.open(path, "r");
    try {
        const size = (await fh.stat()).size;
        const mid = size >= PARALLEL_CHUNKING_MIN ? Math.floor(size / 2) : size;
        const second = mid < size ? chunkInWorker(path, mid, size, params) : Promise.resolve(undefined);
        const c = new Chunker(params);
        const block = Buffer.allocUnsafe(Math.max(READ_BLOCK, params.max));
        let at = 0;
        const feed = async (upTo: number): Promise<boolean> => {
            const { bytesRead } = await fh.read(block, 0, Math.min(block.length, upTo - at), at);
            if (bytesRead === 0) return false;
            c.push(block.subarray(0, bytesRead));
            at += bytesRead;
            return true;
        };
        while (at < mid && (await feed(mid))) {
            // read until the middle
        }
        const tail = await second;
        if (tail && tail.length) {
            const starts = new Map(tail.map((ch, i) => [ch.offset, i]));
            let checked = 0;
            for (;;) {
                const done = c.emitted;
                for (; checked < done.length; checked++) {
                    const end = done[checked].offset + done[checked].length;
                    const i = starts.get(end);
                    if (i !== undefined) {
                        twoThreadChunking.joined++;
                        return [...done.slice(0, checked + 1), ...tail.slice(i)];
                    }
                }
                if (at >= size || at - mid > RESYNC_WINDOW || !(await feed(Math.min(size, at + RESYNC_STEP)))) break;
            }
        }
        // No shared boundary (or no worker): finish alone.
        while (at < size && (await feed(size))) {
            // read to the end
        }
        return c.finish();
    } finally {
        await fh.close();
    }
}
