import * as assert from "assert";
import * as crypto from "crypto";
import { decodeManifest, decodePaths, diffManifests, encodeManifest, encodePaths, Manifest, sameContent } from "../../sdk/manifest";

describe("compact encodings", () => {
    it("round-trips a manifest exactly, including large sizes and non-ASCII paths", () => {
        const m: Manifest = {
            kind: "dir",
            entries: new Map([
                ["a/b/c.txt", { mode: 0o644, size: 0, sha256: "00".repeat(32) }],
                ["a/b/d.bin", { mode: 0o755, size: 2 ** 40 + 3, sha256: "ff".repeat(32) }],
                ["été/ü.txt", { mode: 0o4755, size: 12345, sha256: "ab".repeat(32) }],
            ]),
        };
        const s = encodeManifest(m);
        assert.ok(s.startsWith("pdm1:"));
        assert.deepStrictEqual(decodeManifest(s), m);
    });

    it("round-trips a single-file manifest", () => {
        const m: Manifest = { kind: "file", entries: new Map([["app.conf", { mode: 0o600, size: 10, sha256: "12".repeat(32) }]]) };
        assert.deepStrictEqual(decodeManifest(encodeManifest(m)), m);
    });

    it("keeps 20,000 files under 52 characters each (a base64 sha256 alone is 43)", () => {
        const entries = new Map<string, { mode: number; size: number; sha256: string }>();
        for (let i = 0; i < 20000; i++) {
            entries.set(`assets/dir${String(i % 200).padStart(3, "0")}/file-${String(i).padStart(5, "0")}.jpg`, { mode: 0o644, size: 10000 + i, sha256: crypto.createHash("sha256").update(String(i)).digest("hex") });
        }
        const s = encodeManifest({ kind: "dir", entries });
        assert.ok(s.length / 20000 < 52, `${s.length / 20000} bytes per file`);
        assert.strictEqual(decodeManifest(s).entries.size, 20000);
    });

    it("abbreviates hashes to a prefix when asked, and still tells each changed file from the whole manifest", () => {
        const entries = new Map<string, { mode: number; size: number; sha256: string }>();
        for (let i = 0; i < 20000; i++) {
            entries.set(`assets/dir${String(i % 200).padStart(3, "0")}/file-${String(i).padStart(5, "0")}.jpg`, { mode: 0o644, size: 10000 + i, sha256: crypto.createHash("sha256").update(String(i)).digest("hex") });
        }
        const full: Manifest = { kind: "dir", entries };
        const s = encodeManifest(full, { hashBytes: 8 });
        assert.ok(s.startsWith("pdma:"));
        assert.ok(s.length / 20000 < 18, `${s.length / 20000} bytes per file`);
        const short = decodeManifest(s);
        assert.deepStrictEqual([...short.entries.keys()], [...entries.keys()].sort());
        for (const [p, e] of short.entries) assert.deepStrictEqual(e, { ...entries.get(p)!, sha256: entries.get(p)!.sha256.slice(0, 16) });
        assert.deepStrictEqual(diffManifests(short, full), { added: [], changed: [], removed: [], unchanged: 20000 });
        const next: Manifest = { kind: "dir", entries: new Map(entries) };
        const edited = "assets/dir007/file-00007.jpg";
        next.entries.set(edited, { ...entries.get(edited)!, sha256: "0".repeat(64) });
        next.entries.set("new.txt", { mode: 0o644, size: 1, sha256: "1".repeat(64) });
        next.entries.delete("assets/dir008/file-00008.jpg");
        const d = diffManifests(short, next);
        assert.deepStrictEqual([d.added, d.changed, d.removed, d.unchanged], [["new.txt"], [edited], ["assets/dir008/file-00008.jpg"], 19998]);
    });

    it("compares a hash with its abbreviation, never two different prefixes as equal", () => {
        assert.strictEqual(sameContent("ab".repeat(32), "ab".repeat(8)), true);
        assert.strictEqual(sameContent("ab".repeat(8), "ab".repeat(32)), true);
        assert.strictEqual(sameContent("ab".repeat(32), "ac".repeat(8)), false);
        assert.strictEqual(sameContent("ab".repeat(32), "ab".repeat(31) + "ac"), false);
        assert.throws(() => encodeManifest({ kind: "dir", entries: new Map() }, { hashBytes: 0 }), { message: "hashBytes must be 1 to 32, got 0" });
    });

    it("round-trips a path list, sorted", () => {
        assert.deepStrictEqual(decodePaths(encodePaths(["/srv/b", "/srv/a", "/srv/a/x"])), ["/srv/a", "/srv/a/x", "/srv/b"]);
        assert.deepStrictEqual(decodePaths(encodePaths([])), []);
    });

    it("refuses text it did not write, naming what it is", () => {
        assert.throws(() => decodeManifest("H4sI..."), { message: "the deployed manifest in state is not in a format this version reads (expected pdm1:…)" });
    });
});
