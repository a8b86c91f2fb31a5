import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Chunk, chunkBuffer, chunkFile, chunkFileSync, Chunker, ChunkParams, DEFAULT_CHUNK_PARAMS, GEAR, PARALLEL_CHUNKING_MIN, twoThreadChunking } from "../../sdk/manifest";

/** Deterministic bytes (xorshift32), so failures reproduce. */
function seeded(n: number, seed: number): Buffer {
    const b = Buffer.alloc(n);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        b[i] = x & 0xff;
    }
    return b;
}

/**
 * FastCDC as the paper writes it: the hash starts at 0 at each chunk start
 * and rolls over every byte; no skipping, no streaming. The module must cut
 * at exactly the same places.
 */
function referenceCuts(data: Uint8Array, p: ChunkParams): number[] {
    const bits = Math.log2(p.avg);
    const mask = (b: number) => (((1 << b) - 1) << (32 - b)) | 0;
    const maskS = mask(bits + 2);
    const maskL = mask(bits - 2);
    const lengths: number[] = [];
    for (let start = 0; start < data.length; ) {
        const n = Math.min(data.length - start, p.max);
        let len = n;
        if (n > p.min) {
            let h = 0;
            for (let i = 0; i < n; i++) {
                h = ((h << 1) + GEAR[data[start + i]]) | 0;
                if (i + 1 <= p.min) continue;
                const m = i + 1 <= Math.min(p.avg, n) ? maskS : maskL;
                if ((h & m) === 0) {
                    len = i + 1;
                    break;
                }
            }
        }
        lengths.push(len);
        start += len;
    }
    return lengths;
}

function newChunks(before: readonly Chunk[], after: readonly Chunk[]): Chunk[] {
    const have = new Set(before.map((c) => c.sha256));
    return after.filter((c) => !have.has(c.sha256));
}

function assertTiles(chunks: readonly Chunk[], size: number): void {
    let at = 0;
    for (const c of chunks) {
        assert.strictEqual(c.offset, at);
        at += c.length;
    }
    assert.strictEqual(at, size);
}

const SMALL: ChunkParams = { min: 64, avg: 256, max: 1024 };

describe("content-defined chunking", () => {
    it("uses the documented gear table (sha256 of 'pulumi-delta gear v1:<i>')", () => {
        assert.deepStrictEqual(Array.from(GEAR.slice(0, 4)), [0x6de69e72, 0x078e39f6, 0x26e22c1f, 0xe54d1400]);
        const word = crypto.createHash("sha256").update("pulumi-delta gear v1:255").digest().readUInt32BE(0);
        assert.strictEqual(GEAR[255], word);
    });

    it("cuts a small seeded input exactly here", () => {
        const data = seeded(4096, 42);
        const chunks = chunkBuffer(data, SMALL);
        assert.deepStrictEqual(
            chunks.map((c) => [c.offset, c.length, c.sha256.slice(0, 16)]),
            [
                [0, 262, "a87de3c1e5d2d5d6"],
                [262, 308, "19798e69a140cf66"],
                [570, 271, "870d2e80905ef737"],
                [841, 78, "7f974ede09c771dc"],
                [919, 80, "74ac85d33ec539c1"],
                [999, 268, "649221bfa166ff1a"],
                [1267, 348, "045d5239b7693010"],
                [1615, 369, "34bac59eb6fe0340"],
                [1984, 276, "ed53a76419917eae"],
                [2260, 264, "2a30f8cc14ccc0d2"],
                [2524, 348, "a9fd0df3fdabe4f7"],
                [2872, 290, "97448b1010a08b6f"],
                [3162, 311, "fd93136d1ad0d167"],
                [3473, 365, "d6e6c32977a912ce"],
                [3838, 258, "b79eebbd0b33f353"],
            ],
        );
        for (const c of chunks) assert.strictEqual(c.sha256, crypto.createHash("sha256").update(data.subarray(c.offset, c.offset + c.length)).digest("hex"));
    });

    it("cuts where a plain FastCDC reference cuts, for several sizes and inputs", () => {
        const cases: [ChunkParams, number, number][] = [
            [SMALL, 200_000, 1],
            [{ min: 1024, avg: 4096, max: 16384 }, 1_000_000, 2],
            [{ min: 4096, avg: 8192, max: 65536 }, 1_500_000, 3],
            [{ min: 256, avg: 256, max: 256 }, 10_000, 4],
        ];
        for (const [p, n, seed] of cases) {
            const data = seeded(n, seed);
            assert.deepStrictEqual(
                chunkBuffer(data, p).map((c) => c.length),
                referenceCuts(data, p),
                `min=${p.min} avg=${p.avg} max=${p.max}`,
            );
        }
    });

    it("gives a large file the chunks of one thread when it chunks on two (random, edited, and boundary-less data)", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pd-chunk2-"));
        try {
            const file = path.join(dir, "f.bin");
            const random = seeded(PARALLEL_CHUNKING_MIN + 3 * 1024 * 1024 + 777, 11);
            // An insert just before the middle moves where the two threads' boundaries meet.
            const edited = Buffer.concat([random.subarray(0, random.length / 2 - 5000), Buffer.from("inserted"), random.subarray(random.length / 2 - 5000)]);
            // All zeros: no content boundary, every chunk is max-size from the start, so the worker's
            // boundaries (from the middle) never meet the sequential ones and one thread finishes alone.
            const zeros = Buffer.alloc(PARALLEL_CHUNKING_MIN + 7);
            for (const [data, joins] of [[random, true], [edited, true], [zeros, false]] as const) {
                fs.writeFileSync(file, data);
                const whole = chunkFileSync(file);
                assertTiles(whole, data.length);
                const before = twoThreadChunking.joined;
                assert.deepStrictEqual(await chunkFile(file), whole);
                assert.strictEqual(twoThreadChunking.joined - before, joins ? 1 : 0, "the worker's chunks were joined at a shared boundary");
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("finds the same boundaries however the bytes arrive (buffer, pieces, file sync/async)", async () => {
        const data = seeded(9 * 1024 * 1024 + 12345, 7);
        const whole = chunkBuffer(data);
        assertTiles(whole, data.length);
        assert.deepStrictEqual(chunkBuffer(data), whole);
        const c = new Chunker();
        for (let at = 0, step = 1; at < data.length; at += step, step = ((step * 7 + 13) % 300_000) + 1) c.push(data.subarray(at, at + step));
        assert.deepStrictEqual(c.finish(), whole);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pd-chunk-"));
        try {
            const file = path.join(dir, "f.bin");
            fs.writeFileSync(file, data);
            assert.deepStrictEqual(chunkFileSync(file), whole);
            assert.deepStrictEqual(await chunkFile(file), whole);
            fs.writeFileSync(file, "");
            assert.deepStrictEqual(chunkFileSync(file), []);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("keeps chunk sizes within min..max, normalized around avg", () => {
        const data = seeded(16 * 1024 * 1024, 11);
        const chunks = chunkBuffer(data);
        const { min, avg, max } = DEFAULT_CHUNK_PARAMS;
        chunks.slice(0, -1).forEach((c) => assert.ok(c.length >= min && c.length <= max, `${c.length}`));
        const mean = data.length / chunks.length;
        assert.ok(mean > avg * 0.9 && mean < avg * 1.5, `mean chunk ${mean}`);
    });

    it("changes at most 2 chunks when 100 bytes are inserted at the start", () => {
        for (const seed of [1, 2, 3, 4, 5]) {
            const data = seeded(8 * 1024 * 1024, seed);
            const edited = Buffer.concat([seeded(100, seed + 1000), data]);
            const fresh = newChunks(chunkBuffer(data), chunkBuffer(edited));
            assert.ok(fresh.length <= 2, `seed ${seed}: ${fresh.length} new chunks`);
            assert.strictEqual(fresh[0].offset, 0);
        }
    });

    it("changes only the chunks covering a 1 MiB overwrite, plus their neighbours", () => {
        for (const seed of [1, 2, 3]) {
            const data = seeded(16 * 1024 * 1024, seed);
            const editAt = 7 * 1024 * 1024 + 333;
            const editEnd = editAt + 1024 * 1024;
            const edited = Buffer.from(data);
            seeded(1024 * 1024, seed + 99).copy(edited, editAt);
            const after = chunkBuffer(edited);
            const fresh = newChunks(chunkBuffer(data), after);
            const covering = after.map((c, i) => (c.offset < editEnd && c.offset + c.length > editAt ? i : -1)).filter((i) => i >= 0);
            const lo = covering[0] - 1;
            const hi = covering[covering.length - 1] + 1;
            for (const c of fresh) {
                const i = after.indexOf(c);
                assert.ok(i >= lo && i <= hi, `seed ${seed}: chunk ${i} at ${c.offset} changed, edit covers ${covering[0]}..${hi - 1}`);
            }
            const freshBytes = fresh.reduce((s, c) => s + c.length, 0);
            assert.ok(freshBytes < 1024 * 1024 + 3 * DEFAULT_CHUNK_PARAMS.max, `seed ${seed}: ${freshBytes} bytes changed`);
        }
    });

    it("refuses unusable sizes", () => {
        assert.throws(() => chunkBuffer(Buffer.alloc(10), { min: 64, avg: 300, max: 1024 }), /avg a power of two/);
        assert.throws(() => chunkBuffer(Buffer.alloc(10), { min: 2048, avg: 1024, max: 4096 }), /min ≤ avg/);
    });
});
