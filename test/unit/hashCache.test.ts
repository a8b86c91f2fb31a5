import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { buildManifest, HashCache, toFileMap } from "../../sdk/manifest";
import { tempDir, writeTree } from "../helpers/tree";

const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

describe("HashCache", () => {
    let dir: string;
    let src: string;
    let cacheDir: string;
    const past = (file: string, secondsAgo = 60) => {
        const t = new Date(Date.now() - secondsAgo * 1000);
        fs.utimesSync(file, t, t);
    };
    const build = () => {
        const cache = new HashCache(src, cacheDir);
        const m = buildManifest(src, [], { cache });
        return { m, hashed: cache.hashed, reused: cache.reused };
    };

    beforeEach(() => {
        dir = tempDir("pd-cache-");
        src = path.join(dir, "src");
        cacheDir = path.join(dir, "cache");
        writeTree(src, { "a.txt": "hello", "b/c.txt": "world" });
        past(path.join(src, "a.txt"));
        past(path.join(src, "b/c.txt"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("hashes a tree once, then only stats it", () => {
        const first = build();
        assert.deepStrictEqual([first.hashed, first.reused], [2, 0]);
        const second = build();
        assert.deepStrictEqual([second.hashed, second.reused], [0, 2]);
        assert.deepStrictEqual(toFileMap(second.m), toFileMap(first.m));
    });

    it("re-hashes a file whose size changed", () => {
        build();
        fs.writeFileSync(path.join(src, "a.txt"), "hello!");
        past(path.join(src, "a.txt"));
        const r = build();
        assert.deepStrictEqual([r.hashed, r.reused], [1, 1]);
        assert.strictEqual(r.m.entries.get("a.txt")!.sha256, sha("hello!"));
    });

    it("re-hashes a same-size rewrite even when its mtime is put back (ctime moved)", () => {
        build();
        const file = path.join(src, "a.txt");
        const { atime, mtime } = fs.statSync(file);
        fs.writeFileSync(file, "HELLO");
        fs.utimesSync(file, atime, mtime);
        const r = build();
        assert.strictEqual(r.hashed, 1);
        assert.strictEqual(r.m.entries.get("a.txt")!.sha256, sha("HELLO"));
    });

    it("does not trust an entry for a file modified in the second the cache was written (racy write)", () => {
        fs.writeFileSync(path.join(src, "a.txt"), "fresh");
        build();
        // a.txt's mtime is in the same second as (or after) the cache write: unverified, hashed again.
        const r = build();
        assert.ok(r.hashed >= 1, `hashed ${r.hashed}`);
        assert.strictEqual(r.m.entries.get("a.txt")!.sha256, sha("fresh"));
        // Once the file is older than the cache, it is trusted again.
        past(path.join(src, "a.txt"));
        build();
        assert.strictEqual(build().hashed, 0);
    });

    it("forgets deleted files and survives a corrupt cache file", () => {
        build();
        fs.rmSync(path.join(src, "b"), { recursive: true });
        assert.deepStrictEqual([...build().m.entries.keys()], ["a.txt"]);
        for (const f of fs.readdirSync(path.join(cacheDir, "hashes"))) fs.writeFileSync(path.join(cacheDir, "hashes", f), "{not json");
        const r = build();
        assert.deepStrictEqual([r.hashed, r.reused], [1, 0]);
    });
});
