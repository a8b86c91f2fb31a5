import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { touchScript } from "../../sdk/transport/shell";
import { tempDir } from "../helpers/tree";

// The SSH fallback for symlink mtimes (a server without lsetstat@openssh.com) and the sudo transport's way: run for real with this machine's sh and touch.
describe("touchScript: mtimes set by touch -h, one command per distinct time", () => {
    let dir: string;
    beforeEach(() => {
        dir = tempDir("pd-touch-");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("sets a symlink's own mtime (not its target's) and a file's, names with quotes and spaces included", () => {
        const target = path.join(dir, "target.txt");
        fs.writeFileSync(target, "x");
        const before = fs.statSync(target).mtimeMs;
        const link = path.join(dir, "it's a link");
        fs.symlinkSync("target.txt", link);
        const other = path.join(dir, "other file");
        fs.writeFileSync(other, "y");
        const script = touchScript([
            { path: link, mtime: 981173106, symlink: true },
            { path: other, mtime: 981173106 },
        ]);
        assert.strictEqual(script.split("touch ").length - 1, 1, "one command for one time");
        execFileSync("sh", ["-c", script]);
        assert.strictEqual(fs.lstatSync(link).mtimeMs, 981173106000);
        assert.strictEqual(fs.statSync(other).mtimeMs, 981173106000);
        assert.strictEqual(fs.statSync(target).mtimeMs, before, "the link's target keeps its time");
    });

    it("fails (non-zero) for a path that is gone", () => {
        assert.throws(() => execFileSync("sh", ["-c", touchScript([{ path: path.join(dir, "nope", "x"), mtime: 1 }])], { stdio: "pipe" }));
    });
});
