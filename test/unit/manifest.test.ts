import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { buildManifest, fileMapValue, manifestDigest, parseFileMapValue, sortedPaths, toFileMap, totalBytes } from "../../sdk/manifest";
import { tempDir, writeTree } from "../helpers/tree";

const HELLO = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"; // sha256("hello")
const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

describe("buildManifest", () => {
    let dir: string;
    beforeEach(() => {
        dir = tempDir("pd-unit-");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("lists every regular file with mode, size and sha256, keyed by POSIX path", () => {
        writeTree(dir, { "a.txt": "hello", "sub/deep/b.sh": { content: "", mode: 0o755 }, "sub/c.tmp": "x" });
        fs.mkdirSync(path.join(dir, "empty"));
        const m = buildManifest(dir);
        assert.strictEqual(m.kind, "dir");
        assert.deepStrictEqual(toFileMap(m), {
            "a.txt": `0644 sha256:${HELLO}`,
            "sub/c.tmp": "0644 sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
            "sub/deep/b.sh": `0755 sha256:${EMPTY}`,
            // An empty folder is an entry of its own (folders with files are implied by them).
            empty: "0755 dir",
        });
        assert.strictEqual(totalBytes(m), 6);
    });

    it("skips excluded files, and whole directories that match", () => {
        writeTree(dir, { "a.txt": "hello", "b.tmp": "x", "deep/c.tmp": "x", "node_modules/x/y.js": "x", ".git/HEAD": "x" });
        const m = buildManifest(dir, ["**/*.tmp", "node_modules", ".git"]);
        // deep/ is left empty by the exclusion: deployed as an empty folder, as rsync -a --exclude would.
        assert.deepStrictEqual(sortedPaths(m), ["a.txt", "deep"]);
    });

    it("takes a single file as a one-entry manifest keyed by its name", () => {
        writeTree(dir, { "app.conf": "hello" });
        const m = buildManifest(path.join(dir, "app.conf"));
        assert.strictEqual(m.kind, "file");
        assert.deepStrictEqual(toFileMap(m), { "app.conf": `0644 sha256:${HELLO}` });
    });

    it("refuses a missing source, naming it", () => {
        assert.throws(() => buildManifest(path.join(dir, "nope")), {
            message: `source ${JSON.stringify(path.join(dir, "nope"))} does not exist or cannot be read (ENOENT); give a local directory or file, relative to the Pulumi program or absolute`,
        });
    });

    it('refuses symlinks with symlinks: "refuse", naming the path and the way out', () => {
        writeTree(dir, { "a.txt": "hello" });
        fs.symlinkSync("a.txt", path.join(dir, "link"));
        assert.throws(() => buildManifest(dir, [], { symlinks: "refuse" }), {
            message: `source ${JSON.stringify(dir)} holds 1 path that cannot be deployed; add it to exclude or fix each as noted:\n  link -> a.txt: a symlink (symlinks: "refuse"); or set symlinks to "preserve" or "follow"`,
        });
        assert.doesNotThrow(() => buildManifest(dir, ["link"], { symlinks: "refuse" }));
    });

    it("digests path, mode, size and content: a chmod alone changes the digest", () => {
        writeTree(dir, { "a.sh": "hello" });
        const before = manifestDigest(buildManifest(dir));
        assert.strictEqual(before, manifestDigest(buildManifest(dir)));
        fs.chmodSync(path.join(dir, "a.sh"), 0o755);
        assert.notStrictEqual(manifestDigest(buildManifest(dir)), before);
    });
});

describe("file map values", () => {
    it("round-trips mode and hash", () => {
        const v = fileMapValue({ mode: 0o4755, sha256: HELLO });
        assert.strictEqual(v, `4755 sha256:${HELLO}`);
        assert.deepStrictEqual(parseFileMapValue(v), { mode: 0o4755, size: 0, sha256: HELLO });
        assert.strictEqual(parseFileMapValue("644 md5:abc"), undefined);
    });
});
