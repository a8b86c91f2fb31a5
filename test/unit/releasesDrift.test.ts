import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildManifest, encodeManifest } from "../../sdk/manifest";
import { deltaDeployment } from "../../sdk/plugin/resources/deltaDeployment";
import type { ResourceContext } from "../../sdk/plugin/resources/types";
import { decodeStamps, deltaOnHost, describeDestinationProblem, encodeStamps, planKeptRepair, planRelease } from "../../sdk/apply/releases";
import type { Manifest, ManifestEntry } from "../../sdk/manifest";
import { rollbackNote } from "../../sdk/plugin/resources/deltaDeployment";
import { driftFrom, readDrift } from "../../sdk/plugin/resources/deltaDeploymentDrift";

const H = (c: string) => c.repeat(64);
const e = (sha: string, mode = 0o644, size = 10): ManifestEntry => ({ sha256: H(sha), mode, size });
const m = (entries: Record<string, ManifestEntry>): Manifest => ({ kind: "dir", entries: new Map(Object.entries(entries)) });

describe("releases drift: planRelease with drifted paths", () => {
    const current = m({ "a.txt": e("a"), "b.txt": e("b"), "c.txt": e("c"), "d.txt": e("d"), "e.txt": e("e") });
    it("a drifted file is never hard-linked: content or removal is sent, a mode change alone is copied", () => {
        const drifted = new Map([["a.txt", "content"], ["b.txt", "removed"], ["c.txt", "mode"]] as const);
        assert.deepStrictEqual(planRelease(current, current, false, drifted), { link: ["d.txt", "e.txt"], copy: ["c.txt"], send: ["a.txt", "b.txt"], symlinks: [] });
    });
    it("a drifted file the new manifest changes anyway is sent once", () => {
        const next = m({ ...Object.fromEntries(current.entries), "a.txt": e("x"), "c.txt": e("y") });
        assert.deepStrictEqual(planRelease(current, next, false, new Map([["c.txt", "mode"]] as const)), { link: ["b.txt", "d.txt", "e.txt"], copy: [], send: ["a.txt", "c.txt"], symlinks: [] });
    });
});

describe("releases drift: planKeptRepair", () => {
    const live = m({ "a.txt": e("a"), "b.txt": e("b", 0o600), "c.txt": e("c") });
    it("relinks each damaged path whose version the new live release holds (content, size, mode, owner)", () => {
        assert.deepStrictEqual(planKeptRepair(m({ "a.txt": e("a"), "c.txt": e("c") }), "", live, "", ["c.txt", "a.txt"]), { relink: ["a.txt", "c.txt"], lost: [] });
    });
    it("a damaged path in another version, another mode, or under another owner has no good copy left", () => {
        const kept = m({ "a.txt": e("old"), "b.txt": e("b", 0o644), "c.txt": e("c") });
        assert.deepStrictEqual(planKeptRepair(kept, "", live, "", ["a.txt", "b.txt"]), { relink: [], lost: ["a.txt", "b.txt"] });
        assert.deepStrictEqual(planKeptRepair(kept, "www:www", live, "", ["c.txt"]), { relink: [], lost: ["c.txt"] });
    });
    it("a path the new release does not have is lost; one the kept release does not have is ignored", () => {
        assert.deepStrictEqual(planKeptRepair(m({ "gone.txt": e("g") }), "", live, "", ["gone.txt", "elsewhere.txt"]), { relink: [], lost: ["gone.txt"] });
    });
});

describe("releases drift: deltaOnHost", () => {
    const next = m({ "a.txt": e("a"), "b.txt": e("b"), "c.txt": e("c"), "n.txt": e("n") });
    it("counts drifted paths the manifests agree on as changed, or added when they were removed on the host", () => {
        const delta = { added: ["n.txt"], changed: [], removed: ["old.txt"], unchanged: 3 };
        const damage = new Map([["a.txt", "content"], ["b.txt", "removed"], ["c.txt", "mode"], ["n.txt", "removed"]] as const);
        assert.deepStrictEqual(deltaOnHost(delta, damage, next), { added: ["b.txt", "n.txt"], changed: ["a.txt", "c.txt"], removed: ["old.txt"], unchanged: 0 });
    });
    it("a path the new manifest changes anyway is counted once; a removed one it changes is added", () => {
        const delta = { added: [], changed: ["a.txt", "b.txt"], removed: [], unchanged: 2 };
        const damage = new Map([["a.txt", "content"], ["b.txt", "removed"]] as const);
        assert.deepStrictEqual(deltaOnHost(delta, damage, next), { added: ["b.txt"], changed: ["a.txt"], removed: [], unchanged: 2 });
    });
    it("no damage is the manifests' delta itself", () => {
        const delta = { added: [], changed: ["a.txt"], removed: [], unchanged: 3 };
        assert.strictEqual(deltaOnHost(delta, new Map(), next), delta);
    });
});

describe("releases drift: stamps", () => {
    it("round-trips any path, sorted", () => {
        const s = new Map([["z/ä b\n.txt", 1700000000], ["a.txt", 0]]);
        const text = encodeStamps(s);
        assert.strictEqual(text, JSON.stringify({ version: 1, mtimes: { "a.txt": 0, "z/ä b\n.txt": 1700000000 } }) + "\n");
        assert.deepStrictEqual([...decodeStamps(text)], [["a.txt", 0], ["z/ä b\n.txt", 1700000000]]);
    });
    it("refuses what it did not write, saying why", () => {
        assert.throws(() => decodeStamps("{"), /not JSON/);
        assert.throws(() => decodeStamps(JSON.stringify({ version: 2, mtimes: {} })), /unsupported release mtimes version 2/);
        assert.throws(() => decodeStamps(JSON.stringify({ version: 1, mtimes: { "a.txt": -1 } })), /"a\.txt" has -1/);
        assert.throws(() => decodeStamps(JSON.stringify({ version: 1, mtimes: [] })), /needs an object/);
    });
});

describe("releases drift: the destination link", () => {
    it("a symlink elsewhere or nothing: up points it back; a folder or file: up refuses, naming the fix", () => {
        assert.strictEqual(
            describeDestinationProblem("/srv/site", "a symlink to /srv/hotfix", "/srv/.site.releases/r1"),
            "/srv/site is a symlink to /srv/hotfix, no longer the symlink to the live release /srv/.site.releases/r1: pulumi up points it at the live release again (nothing is lost: only the link is replaced)",
        );
        assert.match(describeDestinationProblem("/srv/site", "gone"), /^\/srv\/site is gone, no longer the symlink to the live release: pulumi up points it at the live release again \(nothing is lost: nothing is there\)$/);
        assert.strictEqual(
            describeDestinationProblem("/srv/site", "a folder", "/srv/.site.releases/r1"),
            "/srv/site is a folder, no longer the symlink to the live release /srv/.site.releases/r1: pulumi up refuses to replace it; move it away (or put the link back: ln -sfn /srv/.site.releases/r1 /srv/site), then run pulumi up again",
        );
    });
    it("a destination problem alone is drift the outputs keep", () => {
        const d = driftFrom({ changed: [], modeChanged: [], removed: [], destination: "gone" });
        assert.deepStrictEqual(d, { changed: [], removed: [], destination: "gone" });
        assert.deepStrictEqual(readDrift({ drift: d as never }), d);
        assert.strictEqual(readDrift({ drift: { changed: [], removed: [] } as never }), undefined);
    });
});

describe("releases drift: the preview's rollback note", () => {
    it("the live release's own manifest is no rollback: a preview of a drift repair does not promise a flip", () => {
        const olds = { strategy: "releases", manifestDigest: "sha256:two", keptReleases: [{ id: "r2", digest: "sha256:two" }, { id: "r1", digest: "sha256:one" }] };
        assert.strictEqual(rollbackNote(olds, { strategy: "releases", manifestDigest: "sha256:two" }), "");
        assert.strictEqual(rollbackNote(olds, { strategy: "releases", manifestDigest: "sha256:one" }), " (rollback to kept release r1: no file bytes sent, only the link flips)");
    });
    it("after a refresh found edits, the note says the up checks the kept release first", () => {
        const olds = { strategy: "releases", manifestDigest: "sha256:two", keptReleases: [{ id: "r1", digest: "sha256:one" }], drift: { changed: [{ path: "a.txt", mode: 0o644, sha256: H("e") }], removed: [] } };
        assert.strictEqual(
            rollbackNote(olds as never, { strategy: "releases", manifestDigest: "sha256:one" }),
            " (rollback to kept release r1: no file bytes sent, only the link flips; unless the files changed on the host reached it through shared hard links, which up checks first)",
        );
    });
});

describe("releases drift: the plugin's diff of a lost link", () => {
    it("a destination that is no longer the link to the live release is a change, with a warning naming what up does", async () => {
        const src = fs.mkdtempSync(path.join(os.tmpdir(), "pd-rdrift-unit-"));
        fs.writeFileSync(path.join(src, "a.txt"), "a");
        const lines: { m: string; severity?: string }[] = [];
        const ctx: ResourceContext = { urn: "urn:pulumi:dev::proj::delta:index:DeltaDeployment::site", name: "site", project: "proj", stack: "dev", log: (m, severity) => void lines.push({ m, severity }) };
        const base = { destination: "/srv/site", stateDir: "/var/lib/pulumi-delta", strategy: "releases" };
        const inputs = (await deltaDeployment.check(ctx, {}, { ...base, source: src })).inputs;
        const olds = { ...inputs, deployed: encodeManifest(buildManifest(src, [])), createdDirs: "", instanceId: "abc", lastDelta: null, lastRecord: null };
        lines.length = 0;
        assert.strictEqual((await deltaDeployment.diff(ctx, "id", { ...olds, drift: { changed: [], removed: [] } }, inputs, inputs)).changes, false, "no drift, no change");
        const d = await deltaDeployment.diff(ctx, "id", { ...olds, drift: { changed: [], removed: [], destination: "a symlink to /srv/hotfix" } }, inputs, inputs);
        assert.strictEqual(d.changes, true);
        assert.deepStrictEqual(d.detailedDiff, { drift: "update" });
        assert.deepStrictEqual(lines, [{ m: "site: /srv/site is a symlink to /srv/hotfix, no longer the symlink to the live release: pulumi up points it at the live release again (nothing is lost: only the link is replaced) (pulumi refresh)", severity: "warning" }]);
        fs.rmSync(src, { recursive: true, force: true });
    });
});
