import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { treeDigest, TreeReader } from "../helpers/treeReader";
import { resetTree, tempDir } from "../helpers/tree";

/**
 * The fault trials trust this reader to catch a non-atomic switch, so it
 * must be shown to catch one: atomic flips between two complete trees
 * pass; a link to a half-built tree, an unexpected absence, and a tree
 * changed in place while live are each reported.
 */
describe("the fault trials' reader of destination (a thread reading real trees)", function () {
    let work: string;
    let dest: string;
    const tree = (n: number, v: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i % 5}/f${i}.txt`, `${v} ${i}\n`]));

    beforeEach(() => {
        work = tempDir("pd-ut-reader-");
        dest = path.join(work, "app");
        resetTree(path.join(work, "a"), tree(100, "a"));
        resetTree(path.join(work, "b"), tree(100, "b"));
    });
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    const trees = () => ({ a: treeDigest(path.join(work, "a")).digest, b: treeDigest(path.join(work, "b")).digest });
    const flipTo = (target: string) => {
        fs.symlinkSync(path.join(work, target), `${dest}.tmp`);
        fs.renameSync(`${dest}.tmp`, dest);
    };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    it("names each tree it reads by content, not by path: a copy is the same tree, one changed byte is another", () => {
        fs.cpSync(path.join(work, "a"), path.join(work, "a2"), { recursive: true });
        assert.strictEqual(treeDigest(path.join(work, "a2")).digest, trees().a);
        fs.appendFileSync(path.join(work, "a2", "d0", "f0.txt"), "x");
        assert.notStrictEqual(treeDigest(path.join(work, "a2")).digest, trees().a);
        assert.strictEqual(treeDigest(path.join(work, "a2")).entries, 100);
    });

    it("atomic flips between two complete trees: every read is a or b, none judged wrong", async () => {
        flipTo("a");
        const reader = TreeReader.start(dest, trees(), { stage: "flips", names: ["a", "b"], absent: false }, 0);
        for (let i = 0; i < 200; i++) {
            flipTo(i % 2 ? "a" : "b");
            await sleep(1);
        }
        const s = await reader.stop();
        assert.deepStrictEqual(s.violations, []);
        assert.strictEqual(s.bad, 0);
        assert.ok((s.seen.flips.a ?? 0) > 0 && (s.seen.flips.b ?? 0) > 0, `reads: ${JSON.stringify(s.seen)}`);
    });

    it("reports a link to a half-built tree, an absence not allowed, and a live tree changed in place", async () => {
        fs.cpSync(path.join(work, "b"), path.join(work, "half"), { recursive: true });
        fs.rmSync(path.join(work, "half", "d4"), { recursive: true });
        flipTo("a");
        const reader = TreeReader.start(dest, trees(), { stage: "half", names: ["a", "b"], absent: false }, 0);
        await sleep(50);
        flipTo("half");
        await sleep(100);
        reader.allow({ stage: "gone", names: ["a", "b"], absent: false });
        fs.unlinkSync(dest);
        await sleep(100);
        reader.allow({ stage: "edited", names: ["a", "b"], absent: false });
        flipTo("a");
        fs.appendFileSync(path.join(work, "a", "d1", "f1.txt"), "edited by hand\n");
        await sleep(100);
        const s = await reader.stop();
        const stages = new Set(s.violations.map((v) => v.split(":")[0]));
        assert.deepStrictEqual([...stages].sort(), ["edited", "gone", "half"], s.violations.join("\n"));
        assert.ok(s.violations.some((v) => v.startsWith("half:") && /an unknown tree of 80 entries/.test(v)), s.violations.join("\n"));
        assert.ok(s.violations.some((v) => v.startsWith("gone:") && /read as absent/.test(v)), s.violations.join("\n"));
    });
});
