import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildManifest, encodeManifest } from "../../sdk/manifest";
import { deltaDeployment } from "../../sdk/plugin/resources/deltaDeployment";
import type { PlainObject } from "../../sdk/plugin/server/codec";
import { UNKNOWN } from "../../sdk/plugin/server/codec";
import type { ResourceContext } from "../../sdk/plugin/resources/types";

/** The plugin's Diff with the mass-deletion guard: the olds carry the deployed manifest (as on a fresh runner), nothing else. */

function context(lines: string[] = []): ResourceContext {
    return { urn: "urn:pulumi:dev::proj::delta:index:DeltaDeployment::site", name: "site", project: "proj", stack: "dev", log: (m, severity) => void (severity !== "debug" && lines.push(m)) };
}

function tree(files: Record<string, string>, dirs: string[] = []): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pd-guard-unit-"));
    for (const d of dirs) fs.mkdirSync(path.join(dir, d), { recursive: true });
    for (const [p, c] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
        fs.writeFileSync(path.join(dir, p), c);
    }
    return dir;
}

function files(n: number): Record<string, string> {
    return Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i % 3}/f${i}.txt`, `file ${i}\n`]));
}

const base = { destination: "/srv/site", stateDir: "/var/lib/pulumi-delta" };

/** v1 checked and "deployed" (the outputs hold only what state holds); then the diff to `news`. */
async function diffTo(v1: PlainObject, news: PlainObject, lines: string[] = []) {
    const c1 = await deltaDeployment.check(context(), {}, { ...base, ...v1 });
    assert.deepStrictEqual(c1.failures, []);
    const olds = { ...c1.inputs, deployed: encodeManifest(buildManifest(v1.source as string, (v1.exclude as string[]) ?? [])), createdDirs: "", instanceId: "abc", lastDelta: null, lastRecord: null };
    const c2 = await deltaDeployment.check(context(), c1.inputs, { ...base, ...news });
    assert.deepStrictEqual(c2.failures, []);
    return { olds, news: c2.inputs, run: () => deltaDeployment.diff(context(lines), "id", olds, c2.inputs, c1.inputs) };
}

/** Rejects with an error whose message (not "Error: …") matches. */
async function refused(p: Promise<unknown>, re: RegExp): Promise<void> {
    await assert.rejects(p, (err: Error) => {
        assert.match(err.message, re);
        return true;
    });
}

const EMPTIED = /^refused: this update of site would remove all 12 files deployed to local:\/srv\/site and add none, because source "[^"]+" holds no files\. .*set allowEmptySource: true/;

describe("plugin DeltaDeployment diff: the mass-deletion guard", () => {
    for (const limit of [1000, 5]) {
        const layout = limit === 1000 ? "per-file map" : "digest only (above diffFileLimit)";
        it(`refuses an emptied source (an empty folder), naming source and allowEmptySource: ${layout}`, async () => {
            const v1 = tree(files(12));
            const empty = tree({});
            const lines: string[] = [];
            const d = await diffTo({ source: v1, diffFileLimit: limit }, { source: empty, diffFileLimit: limit }, lines);
            await assert.rejects(d.run(), (err: Error) => {
                assert.match(err.message, EMPTIED);
                assert.ok(err.message.includes(`source ${JSON.stringify(empty)}`), err.message);
                return true;
            });
            // What it would have removed is still listed above the refusal.
            assert.match(lines.join("\n"), /^site: 0 added, 0 changed, 12 removed, 0 unchanged/);
        });

        it(`lets the emptying through with allowEmptySource: true: ${layout}`, async () => {
            const d = await diffTo({ source: tree(files(12)), diffFileLimit: limit }, { source: tree({}), diffFileLimit: limit, allowEmptySource: true });
            const r = await d.run();
            assert.strictEqual(r.changes, true);
        });

        it(`refuses a removal over maxDelete and lets it through once raised: ${layout}`, async () => {
            const all = files(12);
            const v1 = tree(all);
            const fewer = Object.fromEntries(Object.entries(all).slice(0, 8)); // 4 removed = 33%
            const over = await diffTo({ source: v1, diffFileLimit: limit }, { source: tree(fewer), diffFileLimit: limit, maxDelete: "25%" });
            await refused(over.run(), /^refused: this update of site would remove 4 of the 12 files deployed to local:\/srv\/site \(33%\), more than maxDelete "25%" \(3 files of 12\) allows; check source "[^"]+"\. If the removal is intended, raise maxDelete \(or remove it\) for this update$/);
            const count = await diffTo({ source: v1, diffFileLimit: limit }, { source: tree(fewer), diffFileLimit: limit, maxDelete: 3 });
            await refused(count.run(), /more than maxDelete 3 allows/);
            const raised = await diffTo({ source: v1, diffFileLimit: limit }, { source: tree(fewer), diffFileLimit: limit, maxDelete: 4 });
            assert.strictEqual((await raised.run()).changes, true);
        });
    }

    it("a source of only empty folders is an empty source", async () => {
        const d = await diffTo({ source: tree(files(12)) }, { source: tree({}, ["uploads", "cache/x"]) });
        await refused(d.run(), EMPTIED);
    });

    it("an exclude that excludes everything is named in the refusal", async () => {
        const src = tree(files(12));
        const d = await diffTo({ source: src }, { source: tree(files(12)), exclude: ["*.txt"] });
        await refused(d.run(), /holds no files once exclude \["\*\.txt"\] applies\. /);
    });

    it("a replace (new destination) with an emptied source is refused too", async () => {
        const d = await diffTo({ source: tree(files(12)) }, { source: tree({}), destination: "/srv/other" });
        await refused(d.run(), /would remove all 12 files deployed to local:\/srv\/other and add none/);
    });

    it("a replace that keeps the files is no deletion, even under maxDelete 0", async () => {
        const all = files(12);
        const d = await diffTo({ source: tree(all) }, { source: tree(all), destination: "/srv/other", maxDelete: 0 });
        const r = await d.run();
        assert.deepStrictEqual(r.replaces, ["destination"]);
    });

    it("judges on the deployed manifest: files refresh found removed on the host still count", async () => {
        const v1 = tree(files(12));
        const d = await diffTo({ source: v1 }, { source: tree({}) });
        const deployed = [...buildManifest(v1, []).entries.keys()];
        const olds = { ...d.olds, drift: { changed: [], removed: deployed } as unknown as PlainObject };
        await refused(deltaDeployment.diff(context(), "id", olds, d.news, {}), EMPTIED);
    });

    it("an unknown maxDelete during preview is judged later, by the up's own diff", async () => {
        const d = await diffTo({ source: tree(files(12)) }, { source: tree(files(2)), maxDelete: UNKNOWN });
        assert.strictEqual((await d.run()).changes, true);
    });

    it("check names a bad maxDelete and allowEmptySource, with the fix", async () => {
        const r = await deltaDeployment.check(context(), {}, { ...base, source: tree(files(1)), maxDelete: "lots", allowEmptySource: "yes" });
        assert.deepStrictEqual(r.failures, [
            { property: "maxDelete", reason: `maxDelete "lots" is neither a number of files nor a percentage ending in "%"; give a whole number of files such as 50, or a percentage of the deployed files such as "10%"; omit it for no limit` },
            { property: "allowEmptySource", reason: `allowEmptySource must be true or false, got "yes"; set it to true only for an update meant to remove every deployed file` },
        ]);
    });

    it("a change of maxDelete or allowEmptySource alone is not an update", async () => {
        const src = tree(files(3));
        const d = await diffTo({ source: src }, { source: src, maxDelete: 1, allowEmptySource: true });
        assert.deepStrictEqual(await d.run(), { changes: false, replaces: [], deleteBeforeReplace: false, detailedDiff: {} });
    });
});
