import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { deploy, destinationKey, destroy } from "../../sdk/apply";
import { processIdentity, thisProcess } from "../../sdk/apply/liveness";
import { buildManifest, Manifest } from "../../sdk/manifest";
import { connectSsh, LocalTransport, Transport } from "../../sdk/transport";
import { Sshd, startSshd } from "../helpers/sshd";
import { contentOf, filesOf, resetTree, snapshot, tempDir, writeTree } from "../helpers/tree";

/**
 * A real transport that starts failing at the Nth call of one method, as a
 * dropped connection or a full disk would. With `dead`, every later call
 * fails too (the process "crashed" mid-commit).
 */
/** `t`, whose `failAt`-th call of `method` (counting only calls whose target `counts`) fails; `dead`: every call after it fails too, as on a lost link. */
function faulty(t: Transport, method: "rename" | "upload", failAt: number, dead = false, counts: (target: string) => boolean = () => true): Transport {
    let calls = 0;
    let broken = false;
    return new Proxy(t, {
        get(target, prop, receiver) {
            const value = Reflect.get(target, prop, receiver);
            if (typeof value !== "function") return value;
            return (...args: unknown[]) => {
                if (broken && dead && prop !== "close") return Promise.reject(new Error("connection lost"));
                if (prop === method && counts(String(args[1])) && ++calls === failAt) {
                    broken = true;
                    return Promise.reject(new Error(`injected ${method} failure`));
                }
                return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
        },
    });
}

for (const kind of ["local", "ssh"] as const) {
    describe(`apply engine over ${kind}: nothing lost on failure`, function () {
        let sshd: Sshd | undefined;
        let work: string;
        let src: string;
        let dest: string;
        let stateDir: string;
        const open = async (): Promise<Transport> => (sshd ? connectSsh(sshd.connection()) : new LocalTransport());

        before(async () => {
            if (kind === "ssh") sshd = await startSshd();
        });
        after(async () => sshd?.stop());
        beforeEach(() => {
            work = tempDir("pd-apply-");
            src = path.join(work, "src");
            dest = path.join(work, "host", "site");
            stateDir = path.join(work, "state");
        });
        afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

        async function deployed(t: Transport, previous?: Manifest, createdDirs?: string[]) {
            const next = buildManifest(src);
            const r = await deploy(t, { source: src, destination: dest, stateDir, previous, next, createdDirs });
            return { next, ...r };
        }

        it("a failure halfway through the renames puts every file back", async () => {
            resetTree(src, { "a.txt": "a1", "b.txt": "b1", "c/d.txt": "d1" });
            writeTree(dest, { "b.txt": "ORIGINAL b", "mine.txt": "not deployed" });
            const t = await open();
            try {
                const v1 = await deployed(t);
                resetTree(src, { "a.txt": "a2", "b.txt": "b2", "c/d.txt": "d2", "e/f.txt": "new" });
                const before = snapshot(path.join(work, "host"));
                const beforeState = contentOf(snapshot(stateDir));
                const next = buildManifest(src);
                await assert.rejects(
                    deploy(faulty(t, "rename", 3), { source: src, destination: dest, stateDir, previous: v1.next, next, createdDirs: v1.createdDirs }),
                    /injected rename failure/,
                );
                assert.deepStrictEqual(contentOf(snapshot(path.join(work, "host"))), contentOf(before));
                assert.deepStrictEqual(contentOf(snapshot(stateDir)), beforeState, "no journal, staging or backup left");
                // The host is usable: the same update now succeeds.
                await deploy(t, { source: src, destination: dest, stateDir, previous: v1.next, next, createdDirs: v1.createdDirs });
                assert.deepStrictEqual(filesOf(dest), { ...filesOf(src), "mine.txt": filesOf(dest)["mine.txt"] });
            } finally {
                await t.close();
            }
        });

        it("a deployment that dies mid-commit is undone by the next one, from the journal on the host", async () => {
            resetTree(src, { "a.txt": "a1", "b.txt": "b1" });
            writeTree(dest, { "a.txt": "ORIGINAL a" });
            const t = await open();
            try {
                const v1 = await deployed(t);
                const hostV1 = contentOf(snapshot(dest));
                resetTree(src, { "a.txt": "a2", "b.txt": "b2", "c.txt": "c2" });
                const next = buildManifest(src);
                await assert.rejects(
                    // The second rename into the destination: the first file is committed, then the link is lost.
                    deploy(faulty(t, "rename", 2, true, (to) => to.startsWith(`${dest}/`)), { source: src, destination: dest, stateDir, previous: v1.next, next, createdDirs: v1.createdDirs }),
                    (err: Error) => {
                        assert.match(err.message, /injected rename failure; undoing the partial deployment also failed \(connection lost\); .*journal\.json on .* still names what to undo, and the next pulumi up will retry/);
                        return true;
                    },
                );
                const folder = path.join(stateDir, destinationKey(dest));
                assert.ok(fs.existsSync(path.join(folder, "journal.json")));
                assert.notDeepStrictEqual(contentOf(snapshot(dest)), hostV1, "the host was left half-updated");
                // The crashed run could not release its lock; the next run sees its holder is gone and breaks it.
                assert.ok(fs.existsSync(path.join(folder, "lock")));
                // Redeploying v1 (a rollback) first undoes the interrupted update.
                resetTree(src, { "a.txt": "a1", "b.txt": "b1" });
                await deploy(t, { source: src, destination: dest, stateDir, previous: v1.next, next: v1.next, createdDirs: v1.createdDirs });
                assert.deepStrictEqual(contentOf(snapshot(dest)), hostV1);
                assert.ok(!fs.existsSync(path.join(folder, "journal.json")));
                // And destroy still restores the original.
                await destroy(t, { destination: dest, stateDir, deployed: v1.next, createdDirs: v1.createdDirs, onDestroy: "restore" });
                assert.deepStrictEqual(filesOf(dest), { "a.txt": filesOf(dest)["a.txt"] });
                assert.strictEqual(fs.readFileSync(path.join(dest, "a.txt"), "utf8"), "ORIGINAL a");
            } finally {
                await t.close();
            }
        });

        it("a failed upload leaves the destination untouched and no staging behind", async () => {
            resetTree(src, { "a.txt": "a", "b/c.txt": "c", "d/e/f.txt": "f" });
            writeTree(dest, { "a.txt": "ORIGINAL" });
            const before = snapshot(path.join(work, "host"));
            const t = await open();
            try {
                await assert.rejects(deploy(faulty(t, "upload", 2), { source: src, destination: dest, stateDir, next: buildManifest(src) }), /injected upload failure/);
                // Same content, and the file that was there is the very same inode (only the folder's mtime moved).
                assert.deepStrictEqual(contentOf(snapshot(path.join(work, "host"))), contentOf(before));
                assert.deepStrictEqual(snapshot(dest)["a.txt"], before["site/a.txt"]);
                assert.deepStrictEqual(fs.readdirSync(path.join(stateDir, destinationKey(dest))), [], "no staging, lock or journal left");
            } finally {
                await t.close();
            }
        });

        it("refuses a source file that changed after it was hashed, before anything moves", async () => {
            resetTree(src, { "a.txt": "a" });
            const next = buildManifest(src);
            fs.writeFileSync(path.join(src, "a.txt"), "edited after the preview");
            const t = await open();
            try {
                await assert.rejects(deploy(t, { source: src, destination: dest, stateDir, next }), (err: Error) => {
                    assert.match(err.message, /^source file .*\/a\.txt changed after the preview hashed it \(expected sha256:ca97.*, read sha256:.*\); run pulumi up again$/);
                    return true;
                });
                assert.ok(!fs.existsSync(dest), "the destination folder it created is gone again");
            } finally {
                await t.close();
            }
        });

        it("refuses to run beside a live deployment of another stack, naming it", async () => {
            resetTree(src, { "a.txt": "a" });
            const folder = path.join(stateDir, destinationKey(dest));
            fs.mkdirSync(folder, { recursive: true });
            // A holder that is alive: another process of this machine, as another stack.
            const holder = spawn("sleep", ["60"], { stdio: "ignore" });
            fs.writeFileSync(path.join(folder, "lock"), JSON.stringify({ ...processIdentity(holder.pid!), token: "t1", stack: "shop/prod", resource: "urn:pulumi:prod::shop::x", since: "2026-01-01T00:00:00Z", beat: 0 }));
            const t = await open();
            try {
                await assert.rejects(deploy(t, { source: src, destination: dest, stateDir, next: buildManifest(src) }), (err: Error) => {
                    assert.match(err.message, /^another deployment to this destination is running on .*: stack shop\/prod, resource urn:pulumi:prod::shop::x, since 2026-01-01T00:00:00Z \(.*\/lock\); wait for it to finish and run pulumi up again$/);
                    return true;
                });
                assert.ok(!fs.existsSync(dest));
            } finally {
                holder.kill();
                await t.close();
            }
        });

        it("breaks the lock of a run that is gone, and waits for a live one of the same stack", async () => {
            resetTree(src, { "a.txt": "a" });
            const folder = path.join(stateDir, destinationKey(dest));
            fs.mkdirSync(folder, { recursive: true });
            const gone = spawnSync("true").pid!;
            fs.writeFileSync(path.join(folder, "lock"), JSON.stringify({ ...thisProcess(), pid: gone, startTicks: "1", token: "t2", stack: "(unknown stack)", resource: "r", since: "x", beat: 0 }));
            const t = await open();
            try {
                const started = Date.now();
                await deploy(t, { source: src, destination: dest, stateDir, next: buildManifest(src) });
                assert.ok(Date.now() - started < 5000, "a dead holder is broken at once");
                assert.strictEqual(fs.readFileSync(path.join(dest, "a.txt"), "utf8"), "a");
                // Alive and of the same stack (the direct caller's): waited for until it lets go.
                const holder = spawn("sleep", ["60"], { stdio: "ignore" });
                fs.writeFileSync(path.join(folder, "lock"), JSON.stringify({ ...processIdentity(holder.pid!), token: "t3", stack: "(unknown stack)", resource: "r", since: "x", beat: 0 }));
                setTimeout(() => {
                    fs.unlinkSync(path.join(folder, "lock"));
                    holder.kill();
                }, 1500);
                resetTree(src, { "a.txt": "b" });
                const waited = Date.now();
                const lines: string[] = [];
                await deploy(t, { source: src, destination: dest, stateDir, previous: buildManifest(src), next: buildManifest(src), log: (l) => lines.push(l) });
                assert.ok(Date.now() - waited >= 1400, "it waited");
                assert.ok(lines.some((l) => /waiting for stack \(unknown stack\), resource r/.test(l)), lines.join("\n"));
                assert.strictEqual(fs.readFileSync(path.join(dest, "a.txt"), "utf8"), "b");
                assert.ok(!fs.existsSync(path.join(folder, "lock")));
            } finally {
                await t.close();
            }
        });

        it("refuses to replace a directory with a file, naming it, before anything moves", async () => {
            resetTree(src, { "a.txt": "a", "conf": "a file" });
            fs.mkdirSync(path.join(dest, "conf"), { recursive: true });
            writeTree(dest, { "a.txt": "ORIGINAL" });
            const before = snapshot(dest);
            const t = await open();
            try {
                await assert.rejects(deploy(t, { source: src, destination: dest, stateDir, next: buildManifest(src) }), (err: Error) => {
                    assert.match(err.message, /^cannot replace .*\/site\/conf on .*: it is a dir, not a file or symlink; move it away or exclude the path$/);
                    return true;
                });
                assert.deepStrictEqual(snapshot(dest), before);
            } finally {
                await t.close();
            }
        });
    });
}
