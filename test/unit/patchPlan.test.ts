import * as assert from "assert";
import { MAX_COPY_RANGE, planPatch } from "../../sdk/apply";
import type { Chunk } from "../../sdk/manifest";

/** A chunk list from (name, length) pairs laid end to end; name stands in for the hash. */
function chunks(...spec: [string, number][]): Chunk[] {
    let at = 0;
    return spec.map(([name, length]) => {
        const c = { offset: at, length, sha256: name.repeat(64).slice(0, 64) };
        at += length;
        return c;
    });
}

const MiB = 1024 * 1024;

describe("planPatch", () => {
    it("copies an unchanged file as one range", () => {
        const old = chunks(["a", 100], ["b", 200], ["c", 50]);
        assert.deepStrictEqual(planPatch(old, old), {
            oldSize: 350,
            newSize: 350,
            copies: [{ srcOffset: 0, length: 350, dstOffset: 0 }],
            uploads: [],
            copyBytes: 350,
            uploadBytes: 0,
        });
    });

    it("uploads a changed middle chunk and copies around it", () => {
        const old = chunks(["a", 100], ["b", 200], ["c", 50], ["d", 70]);
        const now = chunks(["a", 100], ["x", 210], ["c", 50], ["d", 70]);
        assert.deepStrictEqual(planPatch(old, now), {
            oldSize: 420,
            newSize: 430,
            copies: [
                { srcOffset: 0, length: 100, dstOffset: 0 },
                { srcOffset: 300, length: 120, dstOffset: 310 },
            ],
            uploads: [{ srcOffset: 100, length: 210, dstOffset: 100 }],
            copyBytes: 220,
            uploadBytes: 210,
        });
    });

    it("shifts copies after an insert at the start and merges adjacent new chunks", () => {
        const old = chunks(["a", 100], ["b", 200], ["c", 50]);
        const now = chunks(["x", 30], ["y", 90], ["b", 200], ["c", 50]);
        assert.deepStrictEqual(planPatch(old, now), {
            oldSize: 350,
            newSize: 370,
            copies: [{ srcOffset: 100, length: 250, dstOffset: 120 }],
            uploads: [{ srcOffset: 0, length: 120, dstOffset: 0 }],
            copyBytes: 250,
            uploadBytes: 120,
        });
    });

    it("splits merged copies at 64 MiB", () => {
        const spec: [string, number][] = "abcdefghij".split("").map((n) => [n, 16 * MiB]);
        const plan = planPatch(chunks(...spec), chunks(...spec));
        assert.strictEqual(MAX_COPY_RANGE, 64 * MiB);
        assert.deepStrictEqual(plan.copies, [
            { srcOffset: 0, length: 64 * MiB, dstOffset: 0 },
            { srcOffset: 64 * MiB, length: 64 * MiB, dstOffset: 64 * MiB },
            { srcOffset: 128 * MiB, length: 32 * MiB, dstOffset: 128 * MiB },
        ]);
        assert.strictEqual(plan.uploadBytes, 0);
    });

    it("copies moved chunks from where they were, and prefers the occurrence that continues a run", () => {
        const old = chunks(["a", 10], ["b", 20], ["a", 10], ["c", 30]);
        const now = chunks(["c", 30], ["a", 10], ["c", 30], ["b", 20], ["a", 10]);
        assert.deepStrictEqual(planPatch(old, now).copies, [
            { srcOffset: 40, length: 30, dstOffset: 0 },
            { srcOffset: 0, length: 10, dstOffset: 30 },
            { srcOffset: 40, length: 30, dstOffset: 40 },
            // "a" after "b" continues old offset 30, not the first "a" at 0.
            { srcOffset: 10, length: 30, dstOffset: 70 },
        ]);
    });

    it("does not reuse a chunk whose hash matches but length differs", () => {
        const old = [{ offset: 0, length: 10, sha256: "a".repeat(64) }];
        const now = [{ offset: 0, length: 11, sha256: "a".repeat(64) }];
        assert.deepStrictEqual(planPatch(old, now).uploads, [{ srcOffset: 0, length: 11, dstOffset: 0 }]);
    });

    it("uploads everything when nothing is shared, and plans nothing for an empty file", () => {
        assert.deepStrictEqual(planPatch([], chunks(["a", 5], ["b", 6])), {
            oldSize: 0,
            newSize: 11,
            copies: [],
            uploads: [{ srcOffset: 0, length: 11, dstOffset: 0 }],
            copyBytes: 0,
            uploadBytes: 11,
        });
        assert.deepStrictEqual(planPatch(chunks(["a", 5]), []), { oldSize: 5, newSize: 0, copies: [], uploads: [], copyBytes: 0, uploadBytes: 0 });
    });
});
