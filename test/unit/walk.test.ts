import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { buildManifest, sortedPaths } from "../../sdk/manifest";
import { tempDir, writeTree } from "../helpers/tree";

/** A path under `dir` whose last name holds the given raw bytes (not UTF-8), as only a Buffer path can spell it. */
function rawPath(dir: string, rel: string, bytes: number[], tail = ""): Buffer {
    return Buffer.concat([Buffer.from(`${dir}/${rel}`), Buffer.from(bytes), Buffer.from(tail)]);
}

function head(dir: string, n: number): string {
    return `source ${JSON.stringify(dir)} holds ${n === 1 ? "1 path" : `${n} paths`} that cannot be deployed; add ${n === 1 ? "it" : "them"} to exclude or fix each as noted:`;
}

describe("walkSource refusals", () => {
    let dir: string;
    beforeEach(() => {
        dir = tempDir("pd-walk-");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("names a file name that is not UTF-8 with its bytes escaped, and the pattern that excludes it", () => {
        writeTree(dir, { "sub/cafe.txt": "x", "a.txt": "x" });
        fs.writeFileSync(rawPath(dir, "sub/caf", [0xe9], ".txt"), "x");
        fs.writeFileSync(rawPath(dir, "", [0xff, 0xfe]), "x");
        assert.throws(() => buildManifest(dir, [], { cache: false }), {
            message: [
                head(dir, 2),
                `  "sub/caf\\xe9.txt": a name that is not UTF-8; or rename it (the exclude pattern for it is "sub/caf\\uFFFD.txt")`,
                `  "\\xff\\xfe": a name that is not UTF-8; or rename it (the exclude pattern for it is "/\\uFFFD\\uFFFD")`,
            ].join("\n"),
        });
        // The suggested patterns, as a program would write them, exclude those names and nothing else.
        assert.deepStrictEqual(sortedPaths(buildManifest(dir, ["sub/caf\uFFFD.txt", "/\uFFFD\uFFFD"], { cache: false })), ["a.txt", "sub/cafe.txt"]);
    });

    it("refuses a folder whose name is not UTF-8 without reading into it, and keeps a name that really holds U+FFFD", () => {
        writeTree(dir, { "ok\uFFFD.txt": "x" });
        fs.mkdirSync(rawPath(dir, "d", [0xc3, 0x28]));
        fs.writeFileSync(Buffer.concat([rawPath(dir, "d", [0xc3, 0x28]), Buffer.from("/inner")]), "x");
        assert.throws(() => buildManifest(dir, [], { cache: false }), {
            message: `${head(dir, 1)}\n  "d\\xc3(": a name that is not UTF-8; or rename it (the exclude pattern for it is "/d\\uFFFD(")`,
        });
        assert.deepStrictEqual(sortedPaths(buildManifest(dir, ["d\uFFFD(/"], { cache: false })), ["ok\uFFFD.txt"]);
    });

    it('lists every symlink (symlinks: "refuse"), special file and line break at once: the first 20 in path order, then a count', () => {
        writeTree(dir, { "a.txt": "x", "x/keep.txt": "x" });
        for (let i = 0; i < 23; i++) fs.symlinkSync("../a.txt", path.join(dir, "x", `link${String(i).padStart(2, "0")}`));
        execFileSync("mkfifo", [path.join(dir, "fifo")]);
        fs.writeFileSync(path.join(dir, "line\nbreak"), "x");
        const links = Array.from({ length: 18 }, (_, i) => `  x/link${String(i).padStart(2, "0")} -> ../a.txt: a symlink (symlinks: "refuse"); or set symlinks to "preserve" or "follow"`);
        assert.throws(() => buildManifest(dir, [], { cache: false, symlinks: "refuse" }), {
            message: [head(dir, 25), "  fifo: a special file (socket, fifo or device)", `  "line\\nbreak": a name with a line break, which manifests cannot carry; or rename it`, ...links, "  … and 5 more"].join("\n"),
        });
        assert.deepStrictEqual(sortedPaths(buildManifest(dir, ["x/link*", "fifo", "line?break"], { cache: false, symlinks: "refuse" })), ["a.txt", "x/keep.txt"]);
    });
});
