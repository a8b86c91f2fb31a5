import * as assert from "assert";
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { deploy, destinationKey, destroy, detectDrift, DeltaRecord, DriftResult, OwnerId } from "../../sdk/apply";
import { buildManifest } from "../../sdk/manifest";
import { connectSsh, LocalTransport, Transport } from "../../sdk/transport";
import type { ChildDeploy } from "../helpers/deployChild";
import { alive, killNow, PHASES, waitUntil } from "../helpers/kill";
import { PHASE_DELAY_ENV, PHASE_MARKER_DIR_ENV } from "../../sdk/apply/phases";
import { counting } from "../helpers/countingTransport";
import { Sshd, startSshd } from "../helpers/sshd";
import { contentOf, filesOf, resetTree, snapshot, tempDir, writeTree } from "../helpers/tree";


/** The transport, but from the `failAt`-th call of `method` on every call fails (a connection lost mid-run). */
function dropsAt(t: Transport, method: string, failAt: number, match: (args: unknown[]) => boolean = () => true): Transport {
    let seen = 0;
    let dropped = false;
    return new Proxy(t, {
        get(target, prop, receiver) {
            const value = Reflect.get(target, prop, receiver);
            if (typeof value !== "function") return value;
            return (...args: unknown[]) => {
                if (prop !== "close" && (dropped || (prop === method && match(args) && ++seen === failAt))) {
                    dropped = true;
                    return Promise.reject(new Error("connection lost"));
                }
                return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
        },
    });
}

const sha = (s: string | Buffer) => crypto.createHash("sha256").update(s).digest("hex");
const OLD = Date.UTC(2021, 0, 2, 3, 4, 5) / 1000;
const noDrift = (r: DriftResult) => ({ changed: r.changed, modeChanged: r.modeChanged, removed: r.removed });

for (const kind of ["local", "ssh"] as const) {
    describe(`drift over ${kind}: what changed on the host since the deployment, and putting it back`, function () {
        this.timeout(120_000);
        let sshd: Sshd | undefined;
        let work: string;
        let src: string;
        let host: string;
        let dest: string;
        let stateDir: string;
        let folder: string;
        const open = async (): Promise<Transport> => (sshd ? connectSsh(sshd.connection()) : new LocalTransport());
        const me: OwnerId = { instance: "i-1", project: "site", stack: "prod", urn: "urn:pulumi:prod::site::pulumi-delta:index:DeltaDeployment::web", name: "web" };
        const V1 = { "index.html": "v1 index\n", "a.txt": "a1\n", "b/c.txt": "c1\n", "d.sh": { content: "#!/bin/sh\necho d\n", mode: 0o755 }, "e.txt": "e1\n", "f.txt": "f1\n" };

        before(async () => {
            if (kind === "ssh") sshd = await startSshd();
        });
        after(async () => sshd?.stop());
        beforeEach(() => {
            work = tempDir("pd-drift-");
            src = path.join(work, "src");
            host = path.join(work, "host");
            dest = path.join(host, "site");
            stateDir = path.join(work, "state");
            folder = path.join(stateDir, destinationKey(dest));
            writeTree(dest, { "index.html": "ORIGINAL index\n", "keep.txt": "not ours\n" });
        });
        afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

        it("reports exactly the edited, deleted and chmodded files (touched ones as touched), writes nothing, and a deployment given them puts them back", async () => {
            const pristine = contentOf(snapshot(host));
            const t = await open();
            try {
                resetTree(src, V1);
                const v1 = buildManifest(src);
                await deploy(t, { source: src, destination: dest, stateDir, next: v1, identity: me });

                // An unchanged host: one lstat per file, no hash.
                const clean = await detectDrift(t, { destination: dest, stateDir, identity: me.instance });
                assert.deepStrictEqual(clean, { known: true, changed: [], modeChanged: [], removed: [], touched: 0, checked: 6, stats: 6, hashes: 0, settled: true });

                // By hand on the host: an edit, a removal, a chmod; a touch, and an edit undone.
                const edited = "a1 edited by hand on the host\n";
                fs.writeFileSync(path.join(dest, "a.txt"), edited);
                fs.rmSync(path.join(dest, "b", "c.txt"));
                fs.chmodSync(path.join(dest, "d.sh"), 0o700);
                fs.utimesSync(path.join(dest, "e.txt"), OLD, OLD);
                fs.writeFileSync(path.join(dest, "f.txt"), "f1 changed for a moment\n");
                fs.writeFileSync(path.join(dest, "f.txt"), "f1\n");
                fs.utimesSync(path.join(dest, "f.txt"), OLD, OLD);

                const everything = snapshot(work);
                const found = await detectDrift(t, { destination: dest, stateDir, identity: me });
                assert.deepStrictEqual(snapshot(work), everything, "detectDrift changed nothing on the host: no byte, mode, mtime or inode, no file under stateDir");
                assert.deepStrictEqual(found, {
                    known: true,
                    changed: [{ path: "a.txt", mode: 0o644, size: Buffer.byteLength(edited), sha256: sha(edited) }],
                    modeChanged: [{ path: "d.sh", mode: 0o700, sha256: sha(V1["d.sh"].content) }],
                    removed: ["b/c.txt"],
                    touched: 2,
                    checked: 6,
                    stats: 6,
                    hashes: 3, // a.txt, e.txt, f.txt: the chmod moved no mtime, so d.sh needs none
                    settled: true,
                });

                // The next deployment of the same v1, told what drifted.
                const drifted = [...found.changed.map((c) => c.path), ...found.modeChanged.map((m) => m.path), ...found.removed];
                const lines: string[] = [];
                const r = await deploy(t, { source: src, destination: dest, stateDir, previous: v1, next: v1, identity: me, drifted, log: (l) => lines.push(l) });
                assert.deepStrictEqual({ added: r.delta.added, changed: r.delta.changed, removed: r.delta.removed, unchanged: r.delta.unchanged }, { added: ["b/c.txt"], changed: ["a.txt", "d.sh"], removed: [], unchanged: 3 });
                assert.strictEqual(r.bytesSent, v1.entries.get("a.txt")!.size + v1.entries.get("b/c.txt")!.size + v1.entries.get("d.sh")!.size, "only the drifted files travel");
                assert.deepStrictEqual(filesOf(dest), { ...filesOf(src), "keep.txt": filesOf(dest)["keep.txt"] }, "the host holds the source byte for byte, modes too");
                assert.ok(lines.some((l) => /3 paths recorded as drifted, checked on .*: 1 with other content, 1 with another mode, 1 gone, 0 as deployed or as wanted/.test(l)), lines.join("\n"));

                // The hand-edited versions survive the commit, and the record names them.
                const id = r.record!.id;
                const keptA = path.join(folder, "drift", id, "a.txt");
                const keptD = path.join(folder, "drift", id, "d.sh");
                assert.deepStrictEqual(r.drift, {
                    repaired: [
                        { path: "a.txt", drift: "content", handEdited: keptA },
                        { path: "b/c.txt", drift: "removed" },
                        { path: "d.sh", drift: "mode", handEdited: keptD },
                    ],
                    matched: [],
                });
                assert.strictEqual(fs.readFileSync(keptA, "utf8"), edited);
                assert.strictEqual(fs.statSync(keptD).mode & 0o7777, 0o700);
                const record = JSON.parse(fs.readFileSync(path.join(folder, "records", `${id}.json`), "utf8")) as DeltaRecord;
                assert.deepStrictEqual(
                    record.changes,
                    [
                        { file: path.join(dest, "a.txt"), action: "update", sha256: sha("a1\n"), bytes: 3, drift: "content", handEdited: keptA },
                        { file: path.join(dest, "b/c.txt"), action: "create", sha256: sha("c1\n"), bytes: 3, drift: "removed" },
                        { file: path.join(dest, "d.sh"), action: "update", sha256: v1.entries.get("d.sh")!.sha256, bytes: v1.entries.get("d.sh")!.size, drift: "mode", handEdited: keptD },
                    ],
                );
                assert.deepStrictEqual(record.rollback.find((x) => x.file === path.join(dest, "a.txt")), { file: path.join(dest, "a.txt"), action: "restore", backup: keptA });
                assert.deepStrictEqual(fs.readdirSync(folder).sort(), ["drift", "ledger.json", "originals", "records"], "no staging, backup or journal left");

                // Drift gone; the two touched files were not named, so they still cost a hash.
                const after = await detectDrift(t, { destination: dest, stateDir, identity: me });
                assert.deepStrictEqual([noDrift(after), after.touched, after.hashes], [{ changed: [], modeChanged: [], removed: [] }, 2, 2]);

                // A drifted path that holds what next wants is left alone (same inode), and its new mtime learned.
                const inode = fs.statSync(path.join(dest, "f.txt")).ino;
                const again = await deploy(t, { source: src, destination: dest, stateDir, previous: v1, next: v1, identity: me, drifted: ["f.txt", "not/in/the/manifest.txt"] });
                assert.deepStrictEqual([again.delta.added, again.delta.changed, again.delta.removed, again.bytesSent], [[], [], [], 0]);
                assert.deepStrictEqual(again.drift, { repaired: [], matched: ["f.txt"] });
                assert.strictEqual(fs.statSync(path.join(dest, "f.txt")).ino, inode);
                const last = await detectDrift(t, { destination: dest, stateDir, identity: me });
                assert.deepStrictEqual([last.touched, last.hashes], [1, 1], "only e.txt still has an mtime the ledger does not know");

                // Destroy leaves the destination as it was before v1; the hand-edited versions stay beside the records.
                await destroy(t, { destination: dest, stateDir, deployed: v1, createdDirs: [], onDestroy: "restore", identity: me });
                assert.deepStrictEqual(contentOf(snapshot(host)), pristine);
                assert.deepStrictEqual(fs.readdirSync(folder).sort(), ["drift", "records"]);
                assert.strictEqual(fs.readFileSync(keptA, "utf8"), edited);
            } finally {
                await t.close();
            }
        });

        it("drift on a path the new version also changes or drops: the hand edit is kept before it is overwritten or removed", async () => {
            const t = await open();
            try {
                resetTree(src, { "a.txt": "a1\n", "gone.txt": "g1\n", "same.txt": "s1\n" });
                const v1 = buildManifest(src);
                await deploy(t, { source: src, destination: dest, stateDir, next: v1, identity: me });
                fs.writeFileSync(path.join(dest, "a.txt"), "a hand edit\n");
                fs.writeFileSync(path.join(dest, "gone.txt"), "g hand edit\n");
                // Edited by hand into exactly what v2 brings: nothing to send.
                fs.writeFileSync(path.join(dest, "same.txt"), "s2\n");
                // Same size as deployed: only the mtime tells, and it has whole seconds (an edit in the commit's second would not show).
                fs.utimesSync(path.join(dest, "same.txt"), OLD, OLD);
                resetTree(src, { "a.txt": "a2\n", "same.txt": "s2\n" });
                const v2 = buildManifest(src);
                const r = await deploy(t, { source: src, destination: dest, stateDir, previous: v1, next: v2, identity: me, drifted: ["a.txt", "gone.txt", "same.txt"] });
                assert.deepStrictEqual([r.delta.added, r.delta.changed, r.delta.removed, r.bytesSent], [[], ["a.txt"], ["gone.txt"], 3]);
                const id = r.record!.id;
                assert.deepStrictEqual(r.drift, {
                    repaired: [
                        { path: "a.txt", drift: "content", handEdited: path.join(folder, "drift", id, "a.txt") },
                        { path: "gone.txt", drift: "content", handEdited: path.join(folder, "drift", id, "gone.txt") },
                    ],
                    matched: ["same.txt"],
                });
                assert.strictEqual(fs.readFileSync(path.join(folder, "drift", id, "a.txt"), "utf8"), "a hand edit\n");
                assert.strictEqual(fs.readFileSync(path.join(folder, "drift", id, "gone.txt"), "utf8"), "g hand edit\n");
                assert.deepStrictEqual(filesOf(dest), { ...filesOf(src), "index.html": filesOf(dest)["index.html"], "keep.txt": filesOf(dest)["keep.txt"] });
                const d = await detectDrift(t, { destination: dest, stateDir, identity: me });
                assert.deepStrictEqual([noDrift(d), d.hashes], [{ changed: [], modeChanged: [], removed: [] }, 0], "same.txt's mtime was learned");
            } finally {
                await t.close();
            }
        });

        it("a repair that fails before its commit point leaves host and stateDir as they were; one that reached it is finished and keeps the hand edit", async () => {
            const t = await open();
            try {
                resetTree(src, { "a.txt": "a1\n", "b.txt": "b1\n", "c.txt": "c1\n" });
                const v1 = buildManifest(src);
                await deploy(t, { source: src, destination: dest, stateDir, next: v1, identity: me });
                fs.writeFileSync(path.join(dest, "a.txt"), "hand a\n");
                fs.writeFileSync(path.join(dest, "b.txt"), "hand b\n");
                const hostBefore = contentOf(snapshot(host));
                const stateBefore = contentOf(snapshot(stateDir));
                const req = { source: src, destination: dest, stateDir, previous: v1, next: v1, identity: me, drifted: ["a.txt", "b.txt"] };
                await assert.rejects(deploy(dropsAt(t, "rename", 2, (a) => String(a[1]).startsWith(dest)), req), /connection lost/);
                // Killed mid-commit: the next run undoes it from the journal (a lost connection cannot undo itself).
                await detectDrift(t, { destination: dest, stateDir, identity: me }).then((d) => assert.strictEqual(d.settled, false, "a journal and a lock are on the host"));
                const lines: string[] = [];
                await deploy(t, { ...req, drifted: [], log: (l) => lines.push(l) });
                assert.ok(lines.some((l) => /undid an interrupted run/.test(l)), lines.join("\n"));
                assert.deepStrictEqual(contentOf(snapshot(host)), hostBefore);
                assert.deepStrictEqual(contentOf(snapshot(stateDir)), stateBefore, "no drift folder, journal, staging or backup left");

                // Lost right after the ledger named it: the next run finishes it, and the hand edits stay kept.
                await assert.rejects(deploy(dropsAt(t, "unlink", 1, (a) => String(a[0]).endsWith("journal.json")), req), /reached its commit point/);
                const r = await deploy(t, { ...req, drifted: [], log: (l) => lines.push(l) });
                assert.strictEqual(r.bytesSent, 0);
                assert.ok(lines.some((l) => /finished an interrupted run .* that had committed/.test(l)), lines.join("\n"));
                assert.deepStrictEqual(filesOf(dest), { ...filesOf(src), "index.html": filesOf(dest)["index.html"], "keep.txt": filesOf(dest)["keep.txt"] });
                const [kept] = fs.readdirSync(path.join(folder, "drift"));
                assert.deepStrictEqual(
                    ["a.txt", "b.txt"].map((f) => fs.readFileSync(path.join(folder, "drift", kept, f), "utf8")),
                    ["hand a\n", "hand b\n"],
                );
            } finally {
                await t.close();
            }
        });

        for (const phase of PHASES) {
            it(`a repair killed (SIGKILL) in its ${phase} phase: the same redeploy then leaves the source on the host and the hand edits kept once; destroy restores`, async () => {
                const pristine = contentOf(snapshot(host));
                const t = await open();
                try {
                    resetTree(src, { "a.txt": "a1\n", "b/c.txt": "c1\n", "d.txt": "d1\n", "e.txt": "e1\n" });
                    const v1 = buildManifest(src);
                    await deploy(t, { source: src, destination: dest, stateDir, next: v1, identity: me });
                    fs.writeFileSync(path.join(dest, "a.txt"), "hand a\n");
                    fs.rmSync(path.join(dest, "b", "c.txt"));
                    fs.chmodSync(path.join(dest, "d.txt"), 0o600);
                    const drifted = ["a.txt", "b/c.txt", "d.txt"];
                    const markers = path.join(work, `markers-${phase}`);
                    fs.mkdirSync(markers);
                    const req: ChildDeploy = { connection: sshd?.connection(), source: src, destination: dest, stateDir, identity: me, drifted };
                    const child = spawn(process.execPath, [path.join(__dirname, "..", "helpers", "deployChild.js"), JSON.stringify(req)], {
                        env: { ...process.env, [PHASE_MARKER_DIR_ENV]: markers, [PHASE_DELAY_ENV]: "1500" },
                        stdio: ["ignore", "ignore", "pipe"],
                    });
                    let stderr = "";
                    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
                    assert.ok(await waitUntil(() => fs.existsSync(path.join(markers, phase)) || !alive(child.pid!), 60_000), `phase ${phase} not reached`);
                    assert.ok(killNow(child.pid!) && fs.existsSync(path.join(markers, phase)), `the child ended before ${phase}: ${stderr}`);
                    await new Promise((r) => child.once("exit", r));
                    const lines: string[] = [];
                    // Pulumi state still records the drift (the update never finished): the next up passes it again.
                    const r = await deploy(t, { source: src, destination: dest, stateDir, previous: v1, next: v1, identity: me, drifted, log: (l) => lines.push(l) });
                    assert.ok(lines.some((l) => /(undid|finished) an interrupted run/.test(l)), lines.join("\n"));
                    assert.deepStrictEqual(filesOf(dest), { ...filesOf(src), "index.html": filesOf(dest)["index.html"], "keep.txt": filesOf(dest)["keep.txt"] });
                    const kept = fs.readdirSync(path.join(folder, "drift"));
                    assert.strictEqual(kept.length, 1, `one deployment's hand edits: ${kept.join(", ")}`);
                    assert.deepStrictEqual(fs.readdirSync(path.join(folder, "drift", kept[0])).sort(), ["a.txt", "d.txt"]);
                    assert.strictEqual(fs.readFileSync(path.join(folder, "drift", kept[0], "a.txt"), "utf8"), "hand a\n");
                    // Undone, the rerun repairs; finished, the rerun finds nothing left to repair.
                    assert.deepStrictEqual(r.drift!.matched, phase === "bookkeeping" ? drifted : []);
                    assert.deepStrictEqual(fs.readdirSync(folder).sort(), ["drift", "ledger.json", "records"], "no journal, staging, backup or lock left");
                    await destroy(t, { destination: dest, stateDir, deployed: v1, createdDirs: [], onDestroy: "restore", identity: me });
                    assert.deepStrictEqual(contentOf(snapshot(host)), pristine);
                } finally {
                    await t.close();
                }
            });
        }

        it("a single-file destination: reported under its name, put back, the hand edit kept", async () => {
            const t = await open();
            try {
                resetTree(src, { "nginx.conf": "server {}\n" });
                const file = path.join(src, "nginx.conf");
                const target = path.join(host, "etc", "site.conf");
                const v1 = buildManifest(file);
                await deploy(t, { source: file, destination: target, stateDir, next: v1, identity: me });
                fs.writeFileSync(target, "server { listen 81; }\n");
                const d = await detectDrift(t, { destination: target, stateDir, identity: me, fileName: "nginx.conf" });
                assert.deepStrictEqual(d.changed, [{ path: "nginx.conf", mode: 0o644, size: 22, sha256: sha("server { listen 81; }\n") }]);
                const r = await deploy(t, { source: file, destination: target, stateDir, previous: v1, next: v1, identity: me, drifted: ["nginx.conf"] });
                assert.deepStrictEqual(r.delta.changed, ["nginx.conf"]);
                assert.strictEqual(fs.readFileSync(target, "utf8"), "server {}\n");
                assert.strictEqual(fs.readFileSync(r.drift!.repaired[0].handEdited!, "utf8"), "server { listen 81; }\n");
                assert.strictEqual(r.drift!.repaired[0].handEdited, path.join(stateDir, destinationKey(target), "drift", r.record!.id, "file"));
            } finally {
                await t.close();
            }
        });

        it("an instance the host does not know, and a host without a ledger, check nothing", async () => {
            const t = await open();
            try {
                const none = await detectDrift(t, { destination: dest, stateDir, identity: "i-unknown" });
                assert.deepStrictEqual(none, { known: false, changed: [], modeChanged: [], removed: [], touched: 0, checked: 0, stats: 0, hashes: 0, settled: true });
                assert.ok(!fs.existsSync(stateDir), "nothing was created");
                resetTree(src, { "a.txt": "a\n" });
                await deploy(t, { source: src, destination: dest, stateDir, next: buildManifest(src), identity: me });
                assert.strictEqual((await detectDrift(t, { destination: dest, stateDir, identity: "i-other" })).known, false);
            } finally {
                await t.close();
            }
        });

        it("an unchanged host of 2,000 files costs one lstat per file, no hash, and a handful of other requests; a touched one a hash per file", async () => {
            const spec: Record<string, string> = {};
            for (let i = 0; i < 2000; i++) spec[`d${i % 20}/f${i}.txt`] = `file ${i}\n`;
            resetTree(src, spec);
            const t = await open();
            try {
                const v1 = buildManifest(src);
                await deploy(t, { source: src, destination: dest, stateDir, next: v1, identity: me });
                const { t: counted, calls } = counting(t);
                const started = process.hrtime.bigint();
                const r = await detectDrift(counted, { destination: dest, stateDir, identity: me });
                const ms = Number(process.hrtime.bigint() - started) / 1e6;
                const total = Object.values(calls).reduce((a, b) => a + b, 0);
                console.log(`      detectDrift over ${kind}, 2,000 unchanged files: ${r.stats} lstats, ${r.hashes} hashes, ${total} requests in all (${JSON.stringify(calls)}), ${ms.toFixed(0)} ms`);
                assert.deepStrictEqual([r.checked, r.stats, r.hashes, r.touched, noDrift(r)], [2000, 2000, 0, 0, { changed: [], modeChanged: [], removed: [] }]);
                assert.strictEqual(calls.sha256 ?? 0, 0);
                assert.strictEqual(calls.exec ?? 0, 0, "no shell started on the host");
                assert.ok(total <= 2000 + 8, `at most 8 requests besides the lstats, saw ${total - 2000}`);

                // Every file touched (same content, new mtimes): then each costs a host hash, and still nothing is drift.
                for (const rel of Object.keys(spec)) fs.utimesSync(path.join(dest, rel), OLD, OLD);
                const again = counting(t);
                const t0 = process.hrtime.bigint();
                const all = await detectDrift(again.t, { destination: dest, stateDir, identity: me });
                const ms2 = Number(process.hrtime.bigint() - t0) / 1e6;
                console.log(`      detectDrift over ${kind}, 2,000 touched files: ${all.stats} lstats, ${all.hashes} hashes, requests ${JSON.stringify(again.calls)}, ${ms2.toFixed(0)} ms`);
                // Over SSH the hashes go in two batches of 1,000 (one exec each), not one by one.
                if (kind === "ssh") assert.deepStrictEqual([again.calls.sha256Many, again.calls.sha256 ?? 0], [2, 0]);
                assert.deepStrictEqual([all.stats, all.hashes, all.touched, noDrift(all)], [2000, 2000, 2000, { changed: [], modeChanged: [], removed: [] }]);
            } finally {
                await t.close();
            }
        });
    });
}
