import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import {
    buildManifest,
    decodeManifest,
    diffManifests,
    dirEntry,
    encodeManifest,
    foldersOf,
    linkEntry,
    Manifest,
    manifestDigest,
    parseFileMapValue,
    toFileMap,
} from "../../sdk/manifest";
import { tempDir, writeTree } from "../helpers/tree";

const HELLO = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"; // sha256("hello")

/** The v1 digest exactly as 0.2 computed it (files only), to check that a tree of files keeps it. */
function digestV1(m: Manifest): string {
    const h = crypto.createHash("sha256");
    h.update(`pulumi-delta manifest v1\n${m.kind}\n`);
    for (const p of [...m.entries.keys()].sort()) {
        const e = m.entries.get(p)!;
        h.update(`${p}\0${e.mode.toString(8).padStart(4, "0")}\0${e.size}\0${e.sha256}\n`);
    }
    return "sha256:" + h.digest("hex");
}

/** A pdm1 string as 0.2 wrote it, built by hand here so the test does not depend on the encoder it checks. */
function pdm1(entries: [string, number, number, string][]): string {
    const bytes: number[] = [];
    const varint = (n: number) => {
        while (n >= 0x80) {
            bytes.push((n % 0x80) | 0x80);
            n = Math.floor(n / 0x80);
        }
        bytes.push(n);
    };
    varint(0);
    varint(entries.length);
    for (const [p, mode, size, sha] of entries) {
        varint(0);
        const b = Buffer.from(p);
        varint(b.length);
        bytes.push(...b);
        varint(mode);
        varint(size);
        bytes.push(...Buffer.from(sha, "hex"));
    }
    return "pdm1:" + zlib.deflateRawSync(Buffer.from(bytes)).toString("base64");
}

describe("faithful manifests: symlinks, folders", () => {
    let dir: string;
    beforeEach(() => {
        dir = tempDir("pd-faithful-");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("keeps symlinks with their target text, empty folders and unusual folder modes; implies the rest", () => {
        writeTree(dir, { "lib/x.js": "hello", "bin/.keep": "", "shared/a.txt": "hello" });
        fs.symlinkSync("../lib/x.js", path.join(dir, "bin", "x"));
        fs.symlinkSync("/nonexistent/abs", path.join(dir, "abs"));
        fs.mkdirSync(path.join(dir, "uploads"));
        fs.chmodSync(path.join(dir, "shared"), 0o2775);
        const m = buildManifest(dir, [], { cache: false });
        assert.deepStrictEqual(toFileMap(m), {
            abs: "link -> /nonexistent/abs",
            "bin/.keep": "0644 sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "bin/x": "link -> ../lib/x.js",
            "lib/x.js": `0644 sha256:${HELLO}`,
            shared: "2775 dir",
            "shared/a.txt": `0644 sha256:${HELLO}`,
            uploads: "0755 dir",
        });
        assert.deepStrictEqual([...foldersOf(m)].sort(), [
            ["bin", 0o755],
            ["lib", 0o755],
            ["shared", 0o2775],
            ["uploads", 0o755],
        ]);
        for (const [p, v] of Object.entries(toFileMap(m))) {
            const e = m.entries.get(p)!;
            // The map carries no file sizes; everything else reads back.
            assert.deepStrictEqual(parseFileMapValue(v), e.type ? e : { ...e, size: 0 });
        }
    });

    it('follows links with symlinks: "follow" (files and folders, even outside the source), and refuses loops and dangling links', () => {
        const outside = tempDir("pd-faithful-out-");
        try {
            writeTree(outside, { "o.txt": "hello" });
            writeTree(dir, { "real/a.txt": "hello" });
            fs.symlinkSync(path.join(outside, "o.txt"), path.join(dir, "o"));
            fs.symlinkSync("real", path.join(dir, "alias"));
            const m = buildManifest(dir, [], { cache: false, symlinks: "follow" });
            assert.deepStrictEqual(toFileMap(m), { "alias/a.txt": `0644 sha256:${HELLO}`, o: `0644 sha256:${HELLO}`, "real/a.txt": `0644 sha256:${HELLO}` });
            fs.symlinkSync("..", path.join(dir, "real", "up"));
            fs.symlinkSync("nowhere", path.join(dir, "dangling"));
            assert.throws(() => buildManifest(dir, [], { cache: false, symlinks: "follow" }), (err: Error) => {
                assert.match(err.message, /dangling -> nowhere: a symlink to nothing/);
                assert.match(err.message, /real\/up -> \.\.: a symlink to a folder that holds it, a loop/);
                return true;
            });
        } finally {
            fs.rmSync(outside, { recursive: true, force: true });
        }
    });

    it("sees a retargeted link as a change, and a file turned into a link with the same text too", () => {
        const a: Manifest = { kind: "dir", entries: new Map([["l", linkEntry("v1")], ["f", { mode: 0o777, size: 2, sha256: linkEntry("v2").sha256 }]]) };
        const b: Manifest = { kind: "dir", entries: new Map([["l", linkEntry("v2")], ["f", linkEntry("v2")]]) };
        assert.deepStrictEqual(diffManifests(a, b), { added: [], changed: ["f", "l"], removed: [], unchanged: 0 });
        assert.notStrictEqual(manifestDigest(a), manifestDigest(b));
        const c: Manifest = { kind: "dir", entries: new Map([["d", dirEntry(0o755)]]) };
        const d: Manifest = { kind: "dir", entries: new Map([["d", dirEntry(0o700)]]) };
        assert.deepStrictEqual(diffManifests(c, d).changed, ["d"]);
    });

    it("keeps the v1 digest for a tree of files alone (an upgrade shows no change), and ignores mtimes", () => {
        writeTree(dir, { "a.txt": "hello", "sub/b.txt": "x" });
        const m = buildManifest(dir, [], { cache: false });
        assert.strictEqual(manifestDigest(m), digestV1(m));
        const old = new Date("2001-02-03T04:05:06Z");
        fs.utimesSync(path.join(dir, "a.txt"), old, old);
        fs.utimesSync(path.join(dir, "sub"), old, old);
        assert.strictEqual(manifestDigest(buildManifest(dir, [], { cache: false })), manifestDigest(m));
        fs.mkdirSync(path.join(dir, "empty"));
        const withDir = buildManifest(dir, [], { cache: false });
        assert.notStrictEqual(manifestDigest(withDir), digestV1(withDir));
    });

    it("encodes files-only manifests as pdm1 (old states still decode), others as pdm2, both round-tripping", () => {
        const old = pdm1([
            ["a.txt", 0o644, 5, HELLO],
            ["b/c", 0o755, 0, "00".repeat(32)],
        ]);
        const decoded = decodeManifest(old);
        assert.deepStrictEqual(decoded, {
            kind: "dir",
            entries: new Map([
                ["a.txt", { mode: 0o644, size: 5, sha256: HELLO }],
                ["b/c", { mode: 0o755, size: 0, sha256: "00".repeat(32) }],
            ]),
        });
        assert.ok(encodeManifest(decoded).startsWith("pdm1:"));
        const mixed: Manifest = {
            kind: "dir",
            entries: new Map([
                ["a.txt", { mode: 0o644, size: 5, sha256: HELLO }],
                ["bin/x", linkEntry("../lib/x.js\nodd ü")],
                ["shared", dirEntry(0o2775)],
                ["uploads", dirEntry(0o755)],
            ]),
        };
        const s = encodeManifest(mixed);
        assert.ok(s.startsWith("pdm2:"));
        assert.deepStrictEqual(decodeManifest(s), mixed);
        // Above diffFileLimit state keeps a prefix of each file hash; links and folders carry none, so they read back whole.
        const short = decodeManifest(encodeManifest(mixed, { hashBytes: 8 }));
        assert.deepStrictEqual(short.entries.get("a.txt"), { mode: 0o644, size: 5, sha256: HELLO.slice(0, 16) });
        assert.deepStrictEqual([...short.entries].filter(([p]) => p !== "a.txt"), [...mixed.entries].filter(([p]) => p !== "a.txt"));
        assert.deepStrictEqual(diffManifests(short, mixed), { added: [], changed: [], removed: [], unchanged: 4 });
    });
});
