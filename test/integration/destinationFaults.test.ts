import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { assertHost, assertRestored, hostSnapshot, HostSnapshot, plantHost } from "../helpers/hostTree";
import { collector, outputValues, StackOptions, setConfig, TestBackend, testBackend, withStack } from "../helpers/pulumi";
import { authorizeKey, Sshd, startSshd } from "../helpers/sshd";
import { shownError } from "../helpers/faultTrial";
import { filesOf, resetTree, tempDir, TreeSpec } from "../helpers/tree";

/**
 * Faults of the destination itself, through the real engine and a real sshd:
 * a filesystem that fills up during an update (a small tmpfs; the delta's
 * bytes fit, its files' blocks do not), and a folder the login user (not
 * root: root writes anywhere) may not write. Each `pulumi up` fails with an
 * error naming the path and the cause, and leaves the host exactly as it
 * was; once space is freed or the permission fixed, the next `pulumi up`
 * converges, and destroy gives back the pre-deployment tree.
 */

/** The host tree without what a rename-back or a re-created folder changes but no one reads: inode numbers and folder mtimes. */
function asSeen(s: HostSnapshot): Record<string, string> {
    return Object.fromEntries(Object.entries(s).map(([p, e]) => [p, `${e.kind} ${e.mode} ${e.uid}:${e.gid}${e.kind === "file" ? ` mtime=${e.mtimeMs} ${e.sha256}` : ""}`]));
}

/** Kind, mode and bytes only. */
function contentSeen(s: HostSnapshot): Record<string, string> {
    return Object.fromEntries(Object.entries(s).map(([p, e]) => [p, `${e.kind} ${e.mode}${e.kind === "file" ? ` ${e.sha256}` : ""}`]));
}

async function failedUp(stack: Stack): Promise<string> {
    const out = collector();
    try {
        await stack.up({ onOutput: out.onOutput });
    } catch (err) {
        return shownError(`${out.text()}\n${(err as Error).message}`);
    }
    assert.fail(`pulumi up succeeded but should have failed:\n${out.text()}`);
}

function smallFiles(n: number, dir: string): TreeSpec {
    return Object.fromEntries(Array.from({ length: n }, (_, i) => [`${dir}/f${i}.txt`, `small file ${i}\n`]));
}

describe("destination faults: a filesystem that fills up, a folder without write permission (real engine, real sshd)", function () {
    let backend: TestBackend;
    let work: string;

    before(() => {
        if (process.getuid?.() !== 0) throw new Error("this test mounts a tmpfs and creates a user: run it as root");
        backend = testBackend();
    });
    after(() => backend?.dispose());
    beforeEach(() => {
        work = tempDir("pd-it-destfault-");
        fs.chmodSync(work, 0o755);
    });
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    describe("a destination filesystem that fills up (tmpfs of 2 MiB)", () => {
        let sshd: Sshd;
        let mnt: string;
        before(async () => (sshd = await startSshd()));
        after(async () => sshd?.stop());
        beforeEach(() => {
            mnt = path.join(work, "host");
            fs.mkdirSync(mnt);
            execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", mnt], { stdio: "pipe" });
        });
        afterEach(() => execFileSync("umount", [mnt]));

        it("fails the update naming the path and the cause, loses nothing, and converges once space is freed", async () => {
            const src = path.join(work, "src");
            const destination = path.join(mnt, "srv", "app");
            plantHost(mnt, { srv: 0o755, "srv/app": 0o755 }, { "srv/app/index.html": { content: "ORIGINAL index\n", mode: 0o644 }, "srv/app/own.txt": { content: "the host's own\n", mode: 0o600 } });
            const pristine = hostSnapshot(mnt);
            const v1: TreeSpec = { "index.html": "<h1>v1</h1>\n", "css/site.css": "body {}\n" };
            resetTree(src, v1);
            const options: StackOptions = {
                fixture: "single",
                // stateDir on the usual disk: staging goes beside the destination, on the tmpfs.
                config: { host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey, stateDir: path.join(work, "state"), source: src, destination },
                secrets: { privateKey: sshd.privateKey },
            };
            await withStack(backend, options, async (stack) => {
                await stack.up();
                // The host's own log fills the filesystem: 1.75 MiB of 2, so 300 new small files' blocks (4 KiB each) do not fit, though their 5 KB do.
                fs.writeFileSync(path.join(mnt, "srv", "app.log"), crypto.randomBytes(1792 * 1024));
                const full = asSeen(hostSnapshot(mnt));
                resetTree(src, { ...v1, "index.html": "<h1>v2</h1>\n", ...smallFiles(300, "assets") });
                const shown = await failedUp(stack);
                console.log(`        shown: ${shown}`);
                assert.match(shown, /no space left on device/i, shown);
                assert.ok(shown.includes(mnt), `the error does not name a path on the full filesystem: ${shown}`);
                assert.deepStrictEqual(asSeen(hostSnapshot(mnt)), full, "the failed update changed the host");

                fs.rmSync(path.join(mnt, "srv", "app.log"));
                const out = await stack.up();
                const delta = outputValues(out.outputs).lastDelta as { added: number; changed: number; removed: number };
                assert.deepStrictEqual([delta.added, delta.changed, delta.removed], [300, 1, 0]);
                assertHost(mnt, pristine, [{ at: "srv/app", source: src }], "after space was freed");
                await stack.destroy();
                // Originals kept across filesystems (stateDir is not on the tmpfs) come back by copy: bytes and mode, not owner and mtime.
                assert.deepStrictEqual(contentSeen(hostSnapshot(mnt)), contentSeen(pristine), "after destroy");
            });
        });
        it("strategy releases: a new release that does not fit fails naming the path and the cause, the live release stays live and whole, nothing half built is left, and it converges once space is freed", async () => {
            const src = path.join(work, "src");
            const destination = path.join(mnt, "srv", "app");
            const root = path.join(mnt, "srv", ".app.releases");
            plantHost(mnt, { srv: 0o755, "srv/app": 0o755 }, { "srv/app/index.html": { content: "ORIGINAL index\n", mode: 0o644 }, "srv/app/own.txt": { content: "the host's own\n", mode: 0o600 } });
            const pristine = hostSnapshot(mnt);
            const v1: TreeSpec = { "index.html": "<h1>v1</h1>\n", "css/site.css": "body {}\n", ...smallFiles(20, "assets") };
            resetTree(src, v1);
            const options: StackOptions = {
                fixture: "single",
                config: { host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey, stateDir: path.join(work, "state"), source: src, destination, strategy: "releases" },
                secrets: { privateKey: sshd.privateKey },
            };
            await withStack(backend, options, async (stack) => {
                await stack.up();
                const live = fs.readlinkSync(destination);
                const v1Files = filesOf(destination);
                assert.deepStrictEqual(v1Files, filesOf(src));
                // The host's own log fills the filesystem: the new release's 20 linked files take no blocks, its 300 new ones do not fit.
                fs.writeFileSync(path.join(mnt, "srv", "app.log"), crypto.randomBytes(1792 * 1024));
                const full = asSeen(hostSnapshot(mnt));
                resetTree(src, { ...v1, "index.html": "<h1>v2</h1>\n", ...smallFiles(300, "more") });
                const shown = await failedUp(stack);
                console.log(`        shown: ${shown}`);
                assert.match(shown, /no space left on device/i, shown);
                assert.ok(shown.includes(root), `the error does not name the release being built: ${shown}`);
                assert.strictEqual(fs.readlinkSync(destination), live, "destination still points at the live release");
                assert.deepStrictEqual(filesOf(destination), v1Files, "the live release is whole");
                assert.deepStrictEqual(asSeen(hostSnapshot(mnt)), full, "the failed update left something on the host (a half-built release?)");

                fs.rmSync(path.join(mnt, "srv", "app.log"));
                const out = await stack.up();
                const delta = outputValues(out.outputs).lastDelta as { added: number; changed: number; removed: number };
                assert.deepStrictEqual([delta.added, delta.changed, delta.removed], [300, 1, 0]);
                assert.notStrictEqual(fs.readlinkSync(destination), live);
                assert.deepStrictEqual(filesOf(destination), filesOf(src));
                await stack.destroy();
                assert.deepStrictEqual(asSeen(hostSnapshot(mnt)), asSeen(pristine), "after destroy");
            });
        });
    });

    describe("a folder the login user may not write (a user that is not root)", () => {
        const user = `pdfault${crypto.randomBytes(3).toString("hex")}`;
        let sshd: Sshd;
        let uid: number;
        before(async () => {
            execFileSync("useradd", ["--create-home", "--shell", "/bin/sh", "--password", "*", user]);
            uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
            sshd = await startSshd({ user });
            authorizeKey(sshd, user);
        });
        after(async () => {
            await sshd?.stop();
            try {
                execFileSync("userdel", ["--remove", user], { stdio: "ignore" });
            } catch {
                // Not created.
            }
        });

        it("fails naming the folder and the cause, puts everything back, and converges once the permission is fixed", async () => {
            const host = path.join(work, "host");
            const destination = path.join(host, "srv", "app");
            const stateDir = path.join(work, "state");
            // The destination is the user's; conf/ inside it is root's, 0755, with a file the source overwrites.
            plantHost(host, { srv: 0o755, "srv/app": 0o755, "srv/app/conf": 0o755 }, {
                "srv/app/own.txt": { content: "the host's own\n", mode: 0o644, uid, gid: uid },
                "srv/app/conf/app.conf": { content: "# the original app.conf\n", mode: 0o644, uid: 0, gid: 0 },
            });
            fs.chownSync(destination, uid, uid);
            fs.chownSync(path.join(destination, "conf"), 0, 0);
            fs.mkdirSync(stateDir, { mode: 0o700 });
            fs.chownSync(stateDir, uid, uid);
            const before = asSeen(hostSnapshot(host));
            const src = path.join(work, "src");
            resetTree(src, { "index.html": "<h1>v1</h1>\n", "css/site.css": "body {}\n", "conf/app.conf": "# deployed app.conf\n", "conf/extra.conf": "# extra\n" });
            const options: StackOptions = {
                fixture: "single",
                config: { host: sshd.host, port: sshd.port, user, hostKey: sshd.hostKey, stateDir, source: src, destination },
                secrets: { privateKey: sshd.privateKey },
            };
            await withStack(backend, options, async (stack) => {
                const shown = await failedUp(stack);
                console.log(`        shown: ${shown}`);
                assert.match(shown, /permission denied/i, shown);
                assert.ok(shown.includes(path.join(destination, "conf")), `the error does not name the folder: ${shown}`);
                assert.ok(shown.includes(`${user}@127.0.0.1:${sshd.port}`) || shown.includes("127.0.0.1"), `the error does not name the host: ${shown}`);
                assert.deepStrictEqual(asSeen(hostSnapshot(host)), before, "the failed up changed the host");

                // The fix: conf/ becomes the user's.
                execFileSync("chown", ["-R", `${uid}:${uid}`, path.join(destination, "conf")]);
                const fixed = hostSnapshot(host);
                await setConfig(stack, options);
                const out = await stack.up();
                assert.deepStrictEqual(outputValues(out.outputs).lastDelta, { added: 4, changed: 0, removed: 0, bytesSent: 12 + 8 + 20 + 8 });
                assertHost(host, fixed, [{ at: "srv/app", source: src }], "after the permission was fixed");
                await stack.destroy();
                assertRestored(host, fixed, "after destroy");
            });
        });

        it("strategy releases: a parent folder where the releases cannot be made fails naming it and the cause before anything moved, and converges once the permission is fixed", async () => {
            const host = path.join(work, "host");
            const destination = path.join(host, "srv", "app");
            const stateDir = path.join(work, "state");
            // The destination is the user's, its parent srv/ root's (0755): the releases folder beside the destination cannot be made.
            plantHost(host, { srv: 0o755, "srv/app": 0o755 }, { "srv/app/own.txt": { content: "the host's own\n", mode: 0o644, uid, gid: uid } });
            fs.chownSync(path.join(host, "srv"), 0, 0);
            fs.chownSync(destination, uid, uid);
            fs.mkdirSync(stateDir, { mode: 0o700 });
            fs.chownSync(stateDir, uid, uid);
            const before = asSeen(hostSnapshot(host));
            const src = path.join(work, "src");
            resetTree(src, { "index.html": "<h1>v1</h1>\n", "css/site.css": "body {}\n" });
            const options: StackOptions = {
                fixture: "single",
                config: { host: sshd.host, port: sshd.port, user, hostKey: sshd.hostKey, stateDir, source: src, destination, strategy: "releases" },
                secrets: { privateKey: sshd.privateKey },
            };
            await withStack(backend, options, async (stack) => {
                const shown = await failedUp(stack);
                console.log(`        shown: ${shown}`);
                assert.match(shown, /permission denied/i, shown);
                assert.ok(shown.includes(path.join(host, "srv", ".app.releases")), `the error does not name the releases folder: ${shown}`);
                assert.match(shown, /let the login user create folders in .*\/srv, or set become: "sudo"/, shown);
                assert.deepStrictEqual(asSeen(hostSnapshot(host)), before, "the failed up changed the host");

                execFileSync("chown", [`${uid}:${uid}`, path.join(host, "srv")]);
                const fixed = hostSnapshot(host);
                await stack.up();
                assert.ok(fs.lstatSync(destination).isSymbolicLink());
                assert.deepStrictEqual(filesOf(destination), filesOf(src));
                assert.strictEqual(fs.readFileSync(path.join(host, "srv", ".app.releases", "original", "own.txt"), "utf8"), "the host's own\n");
                await stack.destroy();
                assertRestored(host, fixed, "after destroy");
            });
        });
    });
});
