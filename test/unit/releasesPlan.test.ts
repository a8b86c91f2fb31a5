import * as assert from "assert";
import { findKept, ownershipKey, planPrune, planRelease, ReleaseEntry, withRelease } from "../../sdk/apply/releases";
import type { Manifest, ManifestEntry } from "../../sdk/manifest";
import { formatReleases } from "../../sdk/cli/releases";
import { rollbackNote } from "../../sdk/plugin/resources/deltaDeployment";
import { validateInputs } from "../../sdk/providers/deltaDeploymentInputs";

const H = (c: string) => c.repeat(64);
const e = (sha: string, mode = 0o644, size = 10): ManifestEntry => ({ sha256: H(sha), mode, size });
const m = (entries: Record<string, ManifestEntry>): Manifest => ({ kind: "dir", entries: new Map(Object.entries(entries)) });

describe("planRelease", () => {
    const current = m({ "a.txt": e("a"), "b.txt": e("b"), "bin/run": e("c"), "gone.txt": e("d") });
    const cases: [string, Manifest | undefined, Manifest, boolean, { link: string[]; copy: string[]; send: string[]; symlinks: string[] }][] = [
        ["the first release sends everything", undefined, m({ "b.txt": e("b"), "a.txt": e("a") }), false, { link: [], copy: [], send: ["a.txt", "b.txt"], symlinks: [] }],
        [
            "unchanged files are linked, changed and new ones sent, a mode change copied, a removed file is simply absent",
            current,
            m({ "a.txt": e("a"), "b.txt": e("x"), "bin/run": e("c", 0o755), "new.txt": e("n") }),
            false,
            { link: ["a.txt"], copy: ["bin/run"], send: ["b.txt", "new.txt"], symlinks: [] },
        ],
        ["an owner change copies every unchanged file (a link would re-own the live one)", current, m({ "a.txt": e("a"), "b.txt": e("x") }), true, { link: [], copy: ["a.txt"], send: ["b.txt"], symlinks: [] }],
        ["same hash but another size is sent", current, m({ "a.txt": e("a", 0o644, 11) }), false, { link: [], copy: [], send: ["a.txt"], symlinks: [] }],
    ];
    for (const [name, cur, next, ownerChanged, want] of cases) it(name, () => assert.deepStrictEqual(planRelease(cur, next, ownerChanged), want));
});

describe("planPrune and findKept", () => {
    const r = (id: string, activatedAt?: string, digest = `sha256:${id}`): ReleaseEntry => ({ id, time: "2026-01-01T00:00:00Z", activatedAt, digest, ownership: "", files: 1, bytes: 1 });
    const all = [r("r1", "2026-01-01T01:00:00Z"), r("r2", "2026-01-01T02:00:00Z"), r("r3", "2026-01-01T03:00:00Z"), r("never"), r("r4", "2026-01-01T04:00:00Z")];
    const ids = (x: { kept: ReleaseEntry[]; removed: ReleaseEntry[] }) => ({ kept: x.kept.map((k) => k.id), removed: x.removed.map((k) => k.id).sort() });
    it("keeps the live one plus the most recently live, counting the live one", () => assert.deepStrictEqual(ids(planPrune(all, "r4", 3)), { kept: ["r4", "r3", "r2"], removed: ["never", "r1"] }));
    it("a rollback's release was live last, so it is the one kept", () => {
        const back = [...all.filter((x) => x.id !== "r1"), r("r1", "2026-01-01T05:00:00Z")];
        assert.deepStrictEqual(ids(planPrune(back, "r4", 2)), { kept: ["r4", "r1"], removed: ["never", "r2", "r3"] });
    });
    it("keepReleases 1 keeps only the live one", () => assert.deepStrictEqual(ids(planPrune(all, "r2", 1)), { kept: ["r2"], removed: ["never", "r1", "r3", "r4"] }));
    it("a never-activated release never counts", () => assert.deepStrictEqual(ids(planPrune([r("live", "2026-01-01T01:00:00Z"), r("never")], "live", 5)), { kept: ["live"], removed: ["never"] }));
    it("findKept matches digest and ownership of a release that went live", () => {
        assert.strictEqual(findKept(all, "sha256:r2", "")?.id, "r2");
        assert.strictEqual(findKept(all, "sha256:r2", "www-data:"), undefined, "another owner: a new release");
        assert.strictEqual(findKept(all, "sha256:never", ""), undefined, "never live: not kept");
    });
    it("ownershipKey", () => {
        assert.deepStrictEqual([ownershipKey(undefined), ownershipKey({}), ownershipKey({ owner: "www-data" }), ownershipKey({ group: "web" })], ["", "", "www-data:", ":web"]);
    });
});

describe("{release} in validate", () => {
    it("is replaced by the shell-quoted release folder, every time it appears", () => {
        assert.strictEqual(withRelease("nginx -t -p {release} && test -f {release}/index.html", "/srv/.site.releases/it's"), `nginx -t -p '/srv/.site.releases/it'\\''s' && test -f '/srv/.site.releases/it'\\''s'/index.html`);
    });
});

describe("validateInputs: strategy and keepReleases", () => {
    const base = { name: "site", source: "/src", kind: "dir" as const, destination: "/srv/site", onDestroy: "restore" as const, manifestDigest: "sha256:x", fileCount: 0, totalBytes: 0 };
    const cases: [string, Record<string, unknown>, { property: string; reason: string }[]][] = [
        ["releases with a directory", { strategy: "releases", keepReleases: 5, validate: "nginx -t -p {release}" }, []],
        ["inPlace by default", {}, []],
        ["an unknown strategy", { strategy: "blueGreen" }, [{ property: "strategy", reason: `strategy must be one of "inPlace", "releases", got "blueGreen"` }]],
        [
            "a single-file source",
            { strategy: "releases", kind: "file", source: "/src/app.conf" },
            [{ property: "strategy", reason: `strategy "releases" needs a directory source (a release is a whole folder behind a symlink), but source "/src/app.conf" is a single file; use strategy "inPlace" for a single file` }],
        ],
        ["keepReleases 0", { strategy: "releases", keepReleases: 0 }, [{ property: "keepReleases", reason: "keepReleases must be a whole number of releases, 1 or more (the live one counts), such as 3, got 0" }]],
        ["the default keepReleases with inPlace, as SDKs that apply the schema's defaults send it", { strategy: "inPlace", keepReleases: 3 }, []],
        ["keepReleases without releases", { strategy: "inPlace", keepReleases: 2 }, [{ property: "keepReleases", reason: `keepReleases 2 applies only to strategy "releases", but strategy is "inPlace"; set strategy: "releases" or drop keepReleases` }]],
        [
            "{release} in onChange, and in validate without releases",
            { validate: "test -d {release}", onChange: "echo {release}" },
            [
                { property: "validate", reason: `validate "test -d {release}" uses {release}, which names the new release's folder and needs strategy "releases"; set strategy: "releases" or drop {release}` },
                { property: "onChange", reason: `onChange "echo {release}" uses {release}, which only validate supports (onChange runs after destination points at the new release); name destination instead` },
            ],
        ],
    ];
    for (const [name, extra, want] of cases) it(name, () => assert.deepStrictEqual(validateInputs({ ...base, ...extra }), want));
});

describe("the preview's rollback note", () => {
    const olds = { strategy: "releases", keptReleases: [{ id: "r1", digest: "sha256:one" }, { id: "r2", digest: "sha256:two" }] };
    it("names the kept release a manifest goes back to", () => assert.strictEqual(rollbackNote(olds, { strategy: "releases", manifestDigest: "sha256:one" }), " (rollback to kept release r1: no file bytes sent, only the link flips)"));
    it("says nothing for a new manifest, another owner, or inPlace", () => {
        assert.strictEqual(rollbackNote(olds, { strategy: "releases", manifestDigest: "sha256:new" }), "");
        assert.strictEqual(rollbackNote(olds, { strategy: "releases", manifestDigest: "sha256:one", owner: "www-data" }), "");
        assert.strictEqual(rollbackNote(olds, { strategy: "inPlace", manifestDigest: "sha256:one" }), "");
    });
});

describe("formatReleases", () => {
    it("one row per release, the live one starred, then where destination points", () => {
        const text = formatReleases(
            [
                { id: "r1", time: "2026-01-01T00:00:00Z", activatedAt: "2026-01-01T00:00:01Z", digest: "sha256:aa", files: 12, bytes: 1, folder: "/srv/.site.releases/r1", current: false },
                { id: "r2", time: "2026-01-02T00:00:00Z", activatedAt: "2026-01-02T00:00:01Z", digest: "sha256:bb", files: 3, bytes: 1, folder: "/srv/.site.releases/r2", current: true },
            ],
            "/srv/site",
            "/srv/.site.releases/r2",
        );
        assert.strictEqual(
            text,
            [
                "   ID  TIME                  MANIFEST   FILES  FOLDER",
                "   r1  2026-01-01T00:00:00Z  sha256:aa  12     /srv/.site.releases/r1",
                "*  r2  2026-01-02T00:00:00Z  sha256:bb  3      /srv/.site.releases/r2",
                "/srv/site → /srv/.site.releases/r2",
                "",
            ].join("\n"),
        );
        assert.strictEqual(formatReleases([], "/srv/site", undefined), "no releases for /srv/site\n");
    });
});
