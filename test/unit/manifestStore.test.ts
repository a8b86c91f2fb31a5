import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { loadStoredManifest, Manifest, manifestDigest, storeManifest } from "../../sdk/manifest";
import { tempDir } from "../helpers/tree";

describe("manifest store", () => {
    let dir: string;
    beforeEach(() => (dir = tempDir("pd-store-")));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const m: Manifest = { kind: "dir", entries: new Map([["a/b.txt", { mode: 0o644, size: 5, sha256: "ab".repeat(32) }]]) };

    it("returns a stored manifest by its digest", () => {
        const digest = storeManifest(m, dir);
        assert.strictEqual(digest, manifestDigest(m));
        assert.deepStrictEqual(loadStoredManifest(digest, dir), m);
    });

    it("answers undefined for an unknown digest or a file that does not match its name", () => {
        assert.strictEqual(loadStoredManifest("sha256:" + "0".repeat(64), dir), undefined);
        const digest = storeManifest(m, dir);
        const other: Manifest = { kind: "dir", entries: new Map([["x", { mode: 0o644, size: 1, sha256: "cd".repeat(32) }]]) };
        const otherFile = path.join(dir, "manifests", storeManifest(other, dir).slice(7) + ".pdm");
        fs.copyFileSync(otherFile, path.join(dir, "manifests", digest.slice(7) + ".pdm"));
        assert.strictEqual(loadStoredManifest(digest, dir), undefined);
    });
});
