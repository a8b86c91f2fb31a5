import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { destinationKey, OwnerId } from "../../sdk/apply";
import { deployRelease, detectReleaseDrift, ReleaseDriftResult } from "../../sdk/apply/releases";
import { buildManifest } from "../../sdk/manifest";
import { connectSsh, LocalTransport, Transport } from "../../sdk/transport";
import { counting } from "../helpers/countingTransport";
import { Sshd, startSshd } from "../helpers/sshd";
import { filesOf, resetTree, snapshot, tempDir } from "../helpers/tree";


const OLD = Date.UTC(2021, 0, 2, 3, 4, 5) / 1000;
const found = (r: ReleaseDriftResult) => ({ changed: r.changed.map((c) => c.path), modeChanged: r.modeChanged.map((c) => c.path), removed: r.removed, destination: r.destination });
const NONE = { changed: [], modeChanged: [], removed: [], destination: undefined };

for (const kind of ["local", "ssh"] as const) {
    describe(`detectReleaseDrift over ${kind}: the cost of a refresh of a release`, function () {
        let sshd: Sshd | undefined;
        let work: string;
        const me: OwnerId = { instance: "i-1", project: "site", stack: "prod", urn: "urn:pulumi:prod::site::pulumi-delta:index:DeltaDeployment::web", name: "web" };
        const open = async (): Promise<Transport> => (sshd ? connectSsh(sshd.connection()) : new LocalTransport());
        before(async () => {
            if (kind === "ssh") sshd = await startSshd();
            work = tempDir("pd-rdrift-cost-");
        });
        after(async () => {
            await sshd?.stop();
            fs.rmSync(work, { recursive: true, force: true });
        });

        it("2,000 unchanged files: one lstat each, no hash, no shell, reading writes nothing; a second release's hard links inherit their mtimes; touched files cost a hash each and are no drift", async () => {
            const src = path.join(work, "src");
            const dest = path.join(work, "host", "site");
            const stateDir = path.join(work, "state");
            const spec: Record<string, string> = {};
            for (let i = 0; i < 2000; i++) spec[`d${i % 20}/f${i}.txt`] = `file ${i}\n`;
            resetTree(src, spec);
            const t = await open();
            try {
                await deployRelease(t, { source: src, destination: dest, stateDir, next: buildManifest(src), identity: me });
                const measure = async (what: string) => {
                    const { t: counted, calls } = counting(t);
                    const started = process.hrtime.bigint();
                    const r = await detectReleaseDrift(counted, { destination: dest, stateDir, identity: me });
                    const ms = Number(process.hrtime.bigint() - started) / 1e6;
                    const total = Object.values(calls).reduce((a, b) => a + b, 0);
                    console.log(`      detectReleaseDrift over ${kind}, ${what}: ${r.stats} lstats, ${r.hashes} hashes, ${total} requests in all (${JSON.stringify(calls)}), ${ms.toFixed(0)} ms`);
                    return { r, calls, total };
                };
                const everything = snapshot(work);
                const first = await measure("2,000 unchanged files, first release");
                assert.deepStrictEqual(snapshot(work), everything, "a refresh writes nothing on the host");
                assert.deepStrictEqual([first.r.known, first.r.settled, first.r.checked, first.r.stats, first.r.hashes, found(first.r)], [true, true, 2000, 2000, 0, NONE]);
                assert.strictEqual(first.calls.exec ?? 0, 0, "no shell started on the host");
                assert.ok(first.total <= 2000 + 16, `at most 16 requests besides the lstats, saw ${first.total - 2000}`);

                // A second release: 1,999 files hard-linked from the first, whose stamps they inherit.
                fs.writeFileSync(path.join(src, "d0/f0.txt"), "changed\n");
                await deployRelease(t, { source: src, destination: dest, stateDir, next: buildManifest(src), identity: me });
                const second = await measure("2,000 unchanged files, second release (1,999 hard links)");
                assert.deepStrictEqual([second.r.stats, second.r.hashes, found(second.r)], [2000, 0, NONE]);

                // Every file touched (same content, new mtimes): a hash each, still no drift.
                for (const rel of Object.keys(spec)) fs.utimesSync(path.join(dest, rel), OLD, OLD);
                const touched = await measure("2,000 touched files");
                assert.deepStrictEqual([touched.r.stats, touched.r.hashes, touched.r.touched, found(touched.r)], [2000, 2000, 2000, NONE]);
                if (kind === "ssh") assert.deepStrictEqual([touched.calls.sha256Many, touched.calls.sha256 ?? 0], [2, 0], "over SSH in two batches of 1,000");

                // An edit, a removal, a chmod, and destination pointed elsewhere.
                fs.writeFileSync(path.join(dest, "d1/f1.txt"), "edited\n");
                fs.rmSync(path.join(dest, "d2/f2.txt"));
                fs.chmodSync(path.join(dest, "d3/f3.txt"), 0o600);
                const elsewhere = path.join(work, "host", "elsewhere");
                fs.mkdirSync(elsewhere);
                const liveFolder = fs.readlinkSync(dest);
                fs.unlinkSync(dest);
                fs.symlinkSync(elsewhere, dest);
                const drifted = await detectReleaseDrift(t, { destination: dest, stateDir, identity: me });
                assert.deepStrictEqual(found(drifted), { changed: ["d1/f1.txt"], modeChanged: ["d3/f3.txt"], removed: ["d2/f2.txt"], destination: `a symlink to ${elsewhere}` }, "the live release's folder is checked, not what destination points at now");
                assert.strictEqual(drifted.liveFolder, liveFolder);
                fs.unlinkSync(dest);
                fs.mkdirSync(dest);
                assert.strictEqual((await detectReleaseDrift(t, { destination: dest, stateDir, identity: me })).destination, "a folder");
                fs.rmdirSync(dest);
                assert.strictEqual((await detectReleaseDrift(t, { destination: dest, stateDir, identity: me })).destination, "gone");

                const stranger = await detectReleaseDrift(t, { destination: dest, stateDir, identity: "someone-else" });
                assert.deepStrictEqual([stranger.known, stranger.checked], [false, 0], "another instance's releases are not checked");
            } finally {
                await t.close();
            }
        });
    });
}

describe("deployRelease given drifted paths (local)", function () {
    let work: string;
    const me: OwnerId = { instance: "i-2", project: "site", stack: "prod", name: "web" };
    beforeEach(() => (work = tempDir("pd-rdrift-repair-")));
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    it("a repair whose validate fails leaves the live release, the kept ones and stateDir as they were; the next one repairs, keeps the hand edit and relinks the kept release that shared the inode", async () => {
        const src = path.join(work, "src");
        const dest = path.join(work, "host", "site");
        const root = path.join(work, "host", ".site.releases");
        const stateDir = path.join(work, "state");
        const t = new LocalTransport();
        resetTree(src, { "index.html": "v1\n", "keep.txt": "same\n", "other.txt": "o1\n" });
        await deployRelease(t, { source: src, destination: dest, stateDir, next: buildManifest(src), identity: me });
        const r1 = path.basename(fs.readlinkSync(dest));
        resetTree(src, { "index.html": "v1\n", "keep.txt": "same\n", "other.txt": "o2\n" });
        await deployRelease(t, { source: src, destination: dest, stateDir, next: buildManifest(src), identity: me });
        const r2 = path.basename(fs.readlinkSync(dest));
        const ino = (p: string) => fs.statSync(p).ino;
        assert.strictEqual(ino(path.join(root, r1, "index.html")), ino(path.join(root, r2, "index.html")), "shared by a hard link");

        fs.writeFileSync(path.join(dest, "index.html"), "hand edit\n");
        fs.utimesSync(path.join(dest, "index.html"), OLD, OLD);
        fs.chmodSync(path.join(dest, "keep.txt"), 0o600);
        assert.strictEqual(fs.readFileSync(path.join(root, r1, "index.html"), "utf8"), "hand edit\n", "the edit reached the kept release");
        const drifted = ["index.html", "keep.txt"];
        // Folders' mtimes move when a run makes and removes something in them: everything else must be as it was.
        const still = () => Object.fromEntries(Object.entries(snapshot(work)).map(([p, e]) => [p, e.kind === "dir" ? { ...e, mtimeMs: 0 } : e]));
        const before = still();
        await assert.rejects(
            deployRelease(t, { source: src, destination: dest, stateDir, next: buildManifest(src), identity: me, drifted, hooks: { validate: "false", timeoutMs: 10000 } }),
            /validate/,
        );
        assert.deepStrictEqual(still(), before, "nothing changed: no new release, no hand-edit folder, the releases as they were");

        const logs: string[] = [];
        const r = await deployRelease(t, { source: src, destination: dest, stateDir, next: buildManifest(src), identity: me, drifted, log: (l) => logs.push(l) });
        assert.notStrictEqual(r.release, r2);
        assert.deepStrictEqual(filesOf(dest), filesOf(src), "the live tree is the source");
        assert.deepStrictEqual(r.drift?.repaired.map((x) => [x.path, x.drift]), [["index.html", "content"], ["keep.txt", "mode"]]);
        const kept = r.drift!.repaired[0].handEdited!;
        assert.ok(kept.startsWith(path.join(stateDir, destinationKey(dest), "drift") + path.sep), kept);
        assert.strictEqual(fs.readFileSync(kept, "utf8"), "hand edit\n");
        assert.deepStrictEqual([r.delta.changed, r.bytesSent], [["index.html", "keep.txt"], 3], "the edit sent (3 bytes), the chmod copied");
        for (const id of [r1, r2]) {
            assert.strictEqual(fs.readFileSync(path.join(root, id, "index.html"), "utf8"), "v1\n", `kept release ${id} holds its version again`);
            assert.strictEqual(ino(path.join(root, id, "index.html")), ino(path.join(dest, "index.html")), `relinked to the repaired copy (${id})`);
            assert.strictEqual(fs.statSync(path.join(root, id, "keep.txt")).mode & 0o777, 0o644, `and its mode (${id})`);
        }
        assert.match(logs.join("\n"), /2 paths found changed .* by pulumi refresh: 2 still differ in the live release/);
        const after = await detectReleaseDrift(t, { destination: dest, stateDir, identity: me });
        assert.deepStrictEqual(found(after), NONE, "nothing left to find");
    });
});
