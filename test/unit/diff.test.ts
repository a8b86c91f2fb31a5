import * as assert from "assert";
import { diffManifests, formatDelta, Manifest, ManifestEntry } from "../../sdk/manifest";

const h = (c: string) => c.repeat(64);
function m(entries: Record<string, [number, string]>, kind: "dir" | "file" = "dir"): Manifest {
    return { kind, entries: new Map(Object.entries(entries).map(([p, [mode, sha]]): [string, ManifestEntry] => [p, { mode, size: 1, sha256: sha }])) };
}

describe("diffManifests", () => {
    it("classifies added, changed (content or mode) and removed paths, sorted", () => {
        const from = m({ "b.txt": [0o644, h("1")], "a.sh": [0o644, h("2")], "gone.txt": [0o644, h("3")], "same.txt": [0o644, h("4")] });
        const to = m({ "b.txt": [0o644, h("9")], "a.sh": [0o755, h("2")], "new/z.txt": [0o644, h("5")], "new/a.txt": [0o644, h("6")], "same.txt": [0o644, h("4")] });
        assert.deepStrictEqual(diffManifests(from, to), { added: ["new/a.txt", "new/z.txt"], changed: ["a.sh", "b.txt"], removed: ["gone.txt"], unchanged: 1 });
    });

    it("treats everything as added on first deployment", () => {
        assert.deepStrictEqual(diffManifests(undefined, m({ x: [0o644, h("1")] })), { added: ["x"], changed: [], removed: [], unchanged: 0 });
    });

    it("compares a single file by content even when its name changed", () => {
        assert.deepStrictEqual(diffManifests(m({ "old.conf": [0o644, h("1")] }, "file"), m({ "app.conf": [0o644, h("1")] }, "file")), { added: [], changed: [], removed: [], unchanged: 1 });
        assert.deepStrictEqual(diffManifests(m({ "app.conf": [0o644, h("1")] }, "file"), m({ "app.conf": [0o644, h("2")] }, "file")), { added: [], changed: ["app.conf"], removed: [], unchanged: 0 });
    });
});

describe("formatDelta", () => {
    it("prints a heading and the paths marked + ~ -, in path order", () => {
        const text = formatDelta("site", "root@h:22:/srv/site", { added: ["c"], changed: ["a"], removed: ["b"], unchanged: 7 });
        assert.strictEqual(text, ["site: 1 added, 1 changed, 1 removed, 7 unchanged → root@h:22:/srv/site", "  ~ a", "  - b", "  + c"].join("\n"));
    });

    it("stops after the limit and says how many more", () => {
        const added = Array.from({ length: 23 }, (_, i) => `f${String(i).padStart(2, "0")}`);
        const lines = formatDelta("site", "local:/srv", { added, changed: [], removed: [], unchanged: 0 }).split("\n");
        assert.strictEqual(lines.length, 22);
        assert.strictEqual(lines[20], "  + f19");
        assert.strictEqual(lines[21], "  … and 3 more");
    });
});
