import * as assert from "assert";
import * as fs from "fs";
import { decodeChunks, encodeChunks, loadChunks, storeChunks } from "../../sdk/manifest";
import { tempDir } from "../helpers/tree";

describe("chunk lists", () => {
    const chunks = [
        { offset: 0, length: 70000, sha256: "aa".repeat(32) },
        { offset: 70000, length: 16384, sha256: "bb".repeat(32) },
        { offset: 86384, length: 262144, sha256: "cc".repeat(32) },
    ];

    it("encode to 4 + count + (length varint + 32) bytes per chunk and decode exactly, offsets included", () => {
        const buf = encodeChunks(chunks);
        assert.strictEqual(buf.length, 4 + 1 + (3 + 32) + (3 + 32) + (3 + 32));
        assert.deepStrictEqual(decodeChunks(buf), chunks);
    });

    it("refuses bytes that are not a chunk list", () => {
        assert.throws(() => decodeChunks(Buffer.from("nope")), { message: "not a pulumi-delta chunk list" });
        assert.throws(() => decodeChunks(encodeChunks(chunks).subarray(0, 40)), { message: "truncated chunk list" });
    });

    it("are kept on the runner by file hash", () => {
        const dir = tempDir("pd-chunks-");
        try {
            assert.strictEqual(loadChunks("dd".repeat(32), dir), undefined);
            storeChunks("dd".repeat(32), chunks, dir);
            assert.deepStrictEqual(loadChunks("dd".repeat(32), dir), chunks);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
