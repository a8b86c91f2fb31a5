import * as assert from "assert";
import { allowedRemovals, deletionPlan, deletionRefusal, GuardSettings, Manifest, parseMaxDelete } from "../../sdk/manifest";

const entry = (n: number) => ({ mode: 0o644, size: n, sha256: n.toString(16).padStart(64, "0") });

/** A directory manifest of `count` files named f0 … f<count-1>, from `from` on. */
function dir(count: number, from = 0): Manifest {
    const entries = new Map<string, ReturnType<typeof entry>>();
    for (let i = from; i < from + count; i++) entries.set(`f${i}`, entry(i));
    return { kind: "dir", entries };
}

const ctx = { name: "site", source: "./dist", target: "deploy@10.0.0.5:22:/srv/www/site" };

describe("deletion guard: parseMaxDelete", () => {
    const fix = `give a whole number of files such as 50, or a percentage of the deployed files such as "10%"; omit it for no limit`;
    const cases: [unknown, ReturnType<typeof parseMaxDelete>][] = [
        [0, { limit: { kind: "count", files: 0 } }],
        [50, { limit: { kind: "count", files: 50 } }],
        ["10%", { limit: { kind: "percent", percent: 10 } }],
        ["0.5%", { limit: { kind: "percent", percent: 0.5 } }],
        ["100%", { limit: { kind: "percent", percent: 100 } }],
        [" 25% ", { limit: { kind: "percent", percent: 25 } }],
        [-1, { problem: `maxDelete must be a whole number of files, 0 or more, got -1; ${fix}` }],
        [2.5, { problem: `maxDelete must be a whole number of files, 0 or more, got 2.5; ${fix}` }],
        ["10", { problem: `maxDelete "10" is neither a number of files nor a percentage ending in "%"; ${fix}` }],
        ["ten%", { problem: `maxDelete "ten%" is neither a number of files nor a percentage ending in "%"; ${fix}` }],
        ["-5%", { problem: `maxDelete "-5%" is neither a number of files nor a percentage ending in "%"; ${fix}` }],
        ["150%", { problem: `maxDelete "150%" is more than "100%" of the deployed files; ${fix}` }],
        [true, { problem: `maxDelete must be a number of files or a percentage string, got true; ${fix}` }],
    ];
    for (const [v, want] of cases) it(`${JSON.stringify(v)}`, () => assert.deepStrictEqual(parseMaxDelete(v), want));

    it("a percentage rounds down to whole files", () => {
        assert.strictEqual(allowedRemovals({ kind: "percent", percent: 10 }, 15), 1);
        assert.strictEqual(allowedRemovals({ kind: "percent", percent: 10 }, 9), 0);
        assert.strictEqual(allowedRemovals({ kind: "percent", percent: 10 }, 100), 10);
        assert.strictEqual(allowedRemovals({ kind: "percent", percent: 33.3 }, 1000), 333);
        assert.strictEqual(allowedRemovals({ kind: "count", files: 7 }, 3), 7);
    });
});

describe("deletion guard: deletionPlan", () => {
    it("counts removed and added by path", () => {
        assert.deepStrictEqual(deletionPlan(dir(10), dir(10, 3)), { deployed: 10, removed: 3, added: 3, next: 10 });
        assert.deepStrictEqual(deletionPlan(dir(4), { kind: "dir", entries: new Map() }), { deployed: 4, removed: 4, added: 0, next: 0 });
        assert.deepStrictEqual(deletionPlan({ kind: "dir", entries: new Map() }, dir(2)), { deployed: 0, removed: 0, added: 2, next: 2 });
    });
    it("counts files and symlinks, not folder entries: a source left with only empty folders is empty", () => {
        const deployed = dir(3);
        deployed.entries.set("link", { mode: 0o777, size: 2, sha256: "ab".repeat(32), type: "symlink", target: "f0" });
        const emptied: Manifest = { kind: "dir", entries: new Map([["uploads", { mode: 0o755, size: 0, sha256: "cd".repeat(32), type: "dir" as const }]]) };
        assert.deepStrictEqual(deletionPlan(deployed, emptied), { deployed: 4, removed: 4, added: 0, next: 0 });
        // A folder entry that becomes a file is an added file.
        const back: Manifest = { kind: "dir", entries: new Map([...dir(3).entries, ["uploads", entry(9)]]) };
        assert.deepStrictEqual(deletionPlan(emptied, back), { deployed: 0, removed: 0, added: 4, next: 4 });
    });

    it("a single file renamed in the source is the same deployed file", () => {
        const a: Manifest = { kind: "file", entries: new Map([["a.conf", entry(1)]]) };
        const b: Manifest = { kind: "file", entries: new Map([["b.conf", entry(2)]]) };
        assert.deepStrictEqual(deletionPlan(a, b), { deployed: 1, removed: 0, added: 0, next: 1 });
    });
    it("a directory deployment turned into a single file removes every file of the directory", () => {
        const file: Manifest = { kind: "file", entries: new Map([["app.conf", entry(1)]]) };
        assert.deepStrictEqual(deletionPlan(dir(3), file), { deployed: 3, removed: 3, added: 1, next: 1 });
    });
});

describe("deletion guard: deletionRefusal", () => {
    const empty = { deployed: 40, removed: 40, added: 0, next: 0 };
    const emptyMessage =
        `refused: this update of site would remove all 40 files deployed to deploy@10.0.0.5:22:/srv/www/site and add none, because source "./dist" holds no files. ` +
        `If the build produced nothing or the path is mistyped, fix source (or exclude); to empty the deployment on purpose, set allowEmptySource: true (or destroy the resource)`;

    const cases: [string, Parameters<typeof deletionRefusal>[0], GuardSettings, string | undefined][] = [
        ["an emptied source", empty, {}, emptyMessage],
        ["an emptied source with allowEmptySource", empty, { allowEmptySource: true }, undefined],
        ["an emptied source with allowEmptySource false", empty, { allowEmptySource: false }, emptyMessage],
        ["nothing removed", { deployed: 40, removed: 0, added: 5, next: 45 }, { maxDelete: 0 }, undefined],
        ["every file replaced by others (adds some): not an emptying", { deployed: 40, removed: 40, added: 1, next: 1 }, {}, undefined],
        ["no limit: a large removal that keeps files", { deployed: 40, removed: 39, added: 0, next: 1 }, {}, undefined],
        ["within a count", { deployed: 40, removed: 5, added: 0, next: 35 }, { maxDelete: 5 }, undefined],
        [
            "over a count",
            { deployed: 40, removed: 6, added: 0, next: 34 },
            { maxDelete: 5 },
            `refused: this update of site would remove 6 of the 40 files deployed to deploy@10.0.0.5:22:/srv/www/site (15%), more than maxDelete 5 allows; check source "./dist". If the removal is intended, raise maxDelete (or remove it) for this update`,
        ],
        ["within a percentage", { deployed: 40, removed: 4, added: 0, next: 36 }, { maxDelete: "10%" }, undefined],
        [
            "over a percentage",
            { deployed: 40, removed: 5, added: 0, next: 35 },
            { maxDelete: "10%" },
            `refused: this update of site would remove 5 of the 40 files deployed to deploy@10.0.0.5:22:/srv/www/site (13%), more than maxDelete "10%" (4 files of 40) allows; check source "./dist". If the removal is intended, raise maxDelete (or remove it) for this update`,
        ],
        [
            "a small share shows a decimal",
            { deployed: 1000, removed: 2, added: 0, next: 998 },
            { maxDelete: 1 },
            `refused: this update of site would remove 2 of the 1000 files deployed to deploy@10.0.0.5:22:/srv/www/site (0.2%), more than maxDelete 1 allows; check source "./dist". If the removal is intended, raise maxDelete (or remove it) for this update`,
        ],
        [
            "allowEmptySource lifts only its own rule: maxDelete still refuses an emptying",
            empty,
            { allowEmptySource: true, maxDelete: "50%" },
            `refused: this update of site would remove 40 of the 40 files deployed to deploy@10.0.0.5:22:/srv/www/site (100%), more than maxDelete "50%" (20 files of 40) allows; check source "./dist". If the removal is intended, raise maxDelete (or remove it) for this update`,
        ],
        ["allowEmptySource with maxDelete 100%", empty, { allowEmptySource: true, maxDelete: "100%" }, undefined],
        ["maxDelete 100% alone does not allow an emptying", empty, { maxDelete: "100%" }, emptyMessage],
    ];
    for (const [what, plan, settings, want] of cases) it(what, () => assert.strictEqual(deletionRefusal(plan, settings, ctx), want));

    it("names exclude when the source holds no files once it applies", () => {
        const msg = deletionRefusal(empty, {}, { ...ctx, exclude: ["*"] });
        assert.match(msg!, /because source "\.\/dist" holds no files once exclude \["\*"\] applies\. /);
        const over = deletionRefusal({ deployed: 10, removed: 5, added: 0, next: 5 }, { maxDelete: 1 }, { ...ctx, exclude: ["*.map"] });
        assert.match(over!, /; check source "\.\/dist" and exclude \["\*\.map"\]\. /);
    });
});
