import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { assertRestored, hostSnapshot } from "../helpers/hostTree";
import { collector, outputValues, runCli, StackOptions, TestBackend, testBackend, withStack } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { tempDir, writeTree } from "../helpers/tree";

const REPO = path.resolve(__dirname, "..", "..", "..");

/** What `rsync -a` would still change to make `dest` equal `src` (an empty list: nothing). Loopback: both are local folders. */
function rsyncDifferences(src: string, dest: string): string[] {
    const out = execFileSync("rsync", ["-ani", "--delete", `${src}/`, `${dest}/`], { encoding: "utf8" });
    return out.split("\n").filter((l) => l.trim() !== "");
}

/** Gives every path under `root` (files, links, folders; the root too) its own old mtime, as a checkout from long ago would have. */
function ageTree(root: string): void {
    let i = 0;
    const base = Date.UTC(2001, 1, 3, 4, 5, 6) / 1000;
    const visit = (dir: string) => {
        for (const name of fs.readdirSync(dir).sort()) {
            const abs = path.join(dir, name);
            if (fs.lstatSync(abs).isDirectory()) visit(abs);
            const t = base + 37 * i++;
            fs.lutimesSync(abs, t, t);
        }
    };
    visit(root);
    fs.utimesSync(root, base - 100, base - 100);
}

/** A real node_modules subset: a few packages and the whole `.bin` folder of links into packages (some of them not copied: dangling, as a partial install leaves them). */
function copyNodeModules(to: string): void {
    fs.mkdirSync(to, { recursive: true });
    const from = path.join(REPO, "node_modules");
    execFileSync("cp", ["-a", ...[".bin", "semver", "he", "flat", "which", "js-yaml"].map((p) => path.join(from, p)), to]);
}

describe("a faithful tree: symlinks, empty folders, folder modes and mtimes as rsync -a makes them (real engine, real sshd)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let work: string;
    before(async () => {
        backend = testBackend();
        sshd = await startSshd();
    });
    after(async () => {
        await sshd.stop();
        backend.dispose();
    });
    beforeEach(() => {
        work = tempDir("pd-it-faithful-");
    });
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    function options(extra: Record<string, string> = {}): StackOptions {
        return {
            fixture: "reach",
            config: { host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey, source: path.join(work, "src"), destination: path.join(work, "dest"), stateDir: path.join(work, "state"), ...extra },
            secrets: { privateKey: sshd.privateKey },
        };
    }

    it("with strategy releases: the live release is the tree as rsync -a makes it, links and empty folders included; a retarget and a rollback keep it so", async () => {
        const src = path.join(work, "src");
        const dest = path.join(work, "dest");
        copyNodeModules(path.join(src, "node_modules"));
        writeTree(src, { "lib/libx.so.1": "ELF v1\n", "lib/libx.so.2": "ELF v2\n", "bin/run.sh": { content: "#!/bin/sh\necho run\n", mode: 0o755 } });
        fs.symlinkSync("libx.so.1", path.join(src, "lib", "libx.so"));
        fs.symlinkSync("/usr/bin/env", path.join(src, "bin", "env"));
        fs.mkdirSync(path.join(src, "uploads"));
        fs.mkdirSync(path.join(src, "cache", "tmp"), { recursive: true });
        fs.chmodSync(path.join(src, "cache"), 0o700);
        ageTree(src);
        await withStack(backend, options({ strategy: "releases" }), async (stack) => {
            await stack.up();
            assert.ok(fs.lstatSync(dest).isSymbolicLink(), "destination is the releases' link");
            const v1 = fs.readlinkSync(dest);
            assert.deepStrictEqual(rsyncDifferences(src, dest), [], "rsync -a finds nothing to change in the first release");
            assert.strictEqual(fs.readlinkSync(path.join(dest, "node_modules", ".bin", "semver")), "../semver/bin/semver.js");

            fs.unlinkSync(path.join(src, "lib", "libx.so"));
            fs.symlinkSync("libx.so.2", path.join(src, "lib", "libx.so"));
            fs.mkdirSync(path.join(src, "uploads", "new"));
            const again = await stack.up();
            assert.deepStrictEqual(outputValues(again.outputs).lastDelta, { added: 1, changed: 1, removed: 1, bytesSent: 0 });
            assert.notStrictEqual(fs.readlinkSync(dest), v1, "a new release is live");
            assert.deepStrictEqual(rsyncDifferences(src, dest), [], "rsync -a finds nothing to change in the second release");

            // Back to v1's tree: the kept release goes live again, nothing sent.
            fs.rmSync(path.join(src, "uploads", "new"), { recursive: true });
            fs.unlinkSync(path.join(src, "lib", "libx.so"));
            fs.symlinkSync("libx.so.1", path.join(src, "lib", "libx.so"));
            const back = await stack.up();
            assert.strictEqual((outputValues(back.outputs).lastDelta as { bytesSent: number }).bytesSent, 0);
            assert.strictEqual(fs.readlinkSync(dest), v1, "v1's release is live again");
            await stack.destroy();
            assert.ok(!fs.existsSync(dest), "destroy leaves nothing where nothing was");
        });
    });

    it("deploys node_modules with .bin links, an absolute link, empty folders, folder modes and old mtimes exactly; a retargeted link shows in the preview; a fresh checkout redeploys nothing", async () => {
        const src = path.join(work, "src");
        const dest = path.join(work, "dest");
        copyNodeModules(path.join(src, "node_modules"));
        writeTree(src, { "lib/libx.so.1": "ELF v1\n", "lib/libx.so.2": "ELF v2\n", "shared/data.txt": "shared\n", "bin/run.sh": { content: "#!/bin/sh\necho run\n", mode: 0o755 } });
        fs.symlinkSync("libx.so.1", path.join(src, "lib", "libx.so"));
        fs.symlinkSync("/usr/bin/env", path.join(src, "bin", "env"));
        fs.symlinkSync("../shared", path.join(src, "bin", "shared"));
        fs.mkdirSync(path.join(src, "uploads"));
        fs.mkdirSync(path.join(src, "cache", "tmp"), { recursive: true });
        fs.chmodSync(path.join(src, "cache"), 0o700);
        fs.chmodSync(path.join(src, "shared"), 0o2775);
        ageTree(src);
        const pristine = hostSnapshot(dest);
        assert.ok(fs.readdirSync(path.join(src, "node_modules", ".bin")).length > 10, "the copy has the .bin links");

        await withStack(backend, options(), async (stack) => {
            const up = await stack.up();
            assert.strictEqual((outputValues(up.outputs).lastDelta as { added: number }).added > 100, true);
            assert.deepStrictEqual(rsyncDifferences(src, dest), [], "rsync -a finds nothing to change after the first deployment");
            assert.strictEqual(fs.readlinkSync(path.join(dest, "node_modules", ".bin", "semver")), "../semver/bin/semver.js");
            assert.strictEqual(fs.readlinkSync(path.join(dest, "bin", "env")), "/usr/bin/env");
            assert.strictEqual(fs.statSync(path.join(dest, "cache")).mode & 0o7777, 0o700);
            assert.strictEqual(fs.statSync(path.join(dest, "shared")).mode & 0o7777, 0o2775);
            assert.deepStrictEqual(fs.readdirSync(path.join(dest, "uploads")), []);
            assert.deepStrictEqual((await stack.preview()).changeSummary, { same: 2 });

            // A retargeted link is a change of that one path, shown per file.
            fs.unlinkSync(path.join(src, "lib", "libx.so"));
            fs.symlinkSync("libx.so.2", path.join(src, "lib", "libx.so"));
            const diff = await runCli(backend, stack, ["preview", "--diff"]);
            assert.match(diff, /~ lib\/libx\.so\s*: "link -> libx\.so\.1" => "link -> libx\.so\.2"/);
            const again = await stack.up();
            assert.deepStrictEqual(outputValues(again.outputs).lastDelta, { added: 0, changed: 1, removed: 0, bytesSent: 0 });
            assert.strictEqual(fs.readlinkSync(path.join(dest, "lib", "libx.so")), "libx.so.2");
            assert.deepStrictEqual(rsyncDifferences(src, dest), [], "rsync -a finds nothing to change after the retarget");

            // A fresh checkout: every mtime new, nothing else. Not a change.
            const now = Date.now() / 1000;
            execFileSync("find", [src, "-exec", "touch", "-h", "-d", `@${Math.floor(now)}`, "{}", "+"]);
            const fresh = collector();
            const preview = await stack.preview({ onOutput: fresh.onOutput });
            assert.deepStrictEqual(preview.changeSummary, { same: 2 }, fresh.text());

            await stack.destroy();
            assertRestored(dest, pristine, "destroy puts the host back as it was (nothing)");
        });
    });

    it("replaces a deployed symlink by a real folder without writing through it: the folder it pointed at keeps its sentinel", async () => {
        const src = path.join(work, "src");
        const dest = path.join(work, "dest");
        const scratch = path.join(work, "scratch");
        writeTree(scratch, { passwd: "sentinel:x:0:0\n" });
        const scratchBefore = hostSnapshot(scratch);
        writeTree(src, { "index.html": "v1\n" });
        fs.symlinkSync(scratch, path.join(src, "conf"));
        await withStack(backend, options(), async (stack) => {
            await stack.up();
            assert.strictEqual(fs.readlinkSync(path.join(dest, "conf")), scratch);

            // v2: conf is a real folder with its own passwd.
            fs.unlinkSync(path.join(src, "conf"));
            writeTree(src, { "conf/passwd": "deployed:x:1:1\n", "index.html": "v2\n" });
            const up = await stack.up();
            assert.deepStrictEqual(outputValues(up.outputs).lastDelta, { added: 1, changed: 1, removed: 1, bytesSent: 18 });
            assert.ok(fs.lstatSync(path.join(dest, "conf")).isDirectory(), "conf is a real folder now");
            assert.strictEqual(fs.readFileSync(path.join(dest, "conf", "passwd"), "utf8"), "deployed:x:1:1\n");
            assert.deepStrictEqual(hostSnapshot(scratch), scratchBefore, "the folder the old link pointed at is untouched");
            assert.deepStrictEqual(rsyncDifferences(src, dest), []);

            // And back: the folder becomes a link again.
            fs.rmSync(path.join(src, "conf"), { recursive: true });
            fs.symlinkSync(scratch, path.join(src, "conf"));
            await stack.up();
            assert.strictEqual(fs.readlinkSync(path.join(dest, "conf")), scratch);
            assert.deepStrictEqual(hostSnapshot(scratch), scratchBefore);

            await stack.destroy();
            assert.deepStrictEqual(hostSnapshot(dest), {});
            assert.deepStrictEqual(hostSnapshot(scratch), scratchBefore);
        });
    });

    it("refuses to write or remove through a deployed folder that someone replaced on the host by a symlink to elsewhere", async () => {
        const src = path.join(work, "src");
        const dest = path.join(work, "dest");
        const scratch = path.join(work, "scratch");
        writeTree(scratch, { passwd: "sentinel:x:0:0\n" });
        const scratchBefore = hostSnapshot(scratch);
        writeTree(src, { "conf/passwd": "v1\n", "index.html": "v1\n" });
        await withStack(backend, options(), async (stack) => {
            await stack.up();
            // The attacker (or a confused admin) swaps the deployed folder for a link.
            fs.rmSync(path.join(dest, "conf"), { recursive: true });
            fs.symlinkSync(scratch, path.join(dest, "conf"));

            writeTree(src, { "conf/passwd": "v2\n" });
            await assert.rejects(stack.up(), /cannot write under \S+\/dest\/conf on \S+: it is a symlink \(to "[^"]+scratch"\) that pulumi-delta did not deploy[^]*never writes through a symlink/);
            assert.deepStrictEqual(hostSnapshot(scratch), scratchBefore, "nothing written through the link");

            fs.rmSync(path.join(src, "conf"), { recursive: true });
            await assert.rejects(stack.up(), /cannot write under \S+\/dest\/conf[^]*never writes through a symlink/);
            assert.deepStrictEqual(hostSnapshot(scratch), scratchBefore, "nothing removed through the link");

            const down = collector();
            await stack.destroy({ onOutput: down.onOutput });
            assert.match(down.text(), /left what is under \S+\/dest\/conf on \S+: it is no longer a real folder/);
            assert.deepStrictEqual(hostSnapshot(scratch), scratchBefore, "destroy does not act through the link either");
        });
    });

    it("refresh finds a link retargeted on the host and a removed empty folder; the next up puts both back", async () => {
        const src = path.join(work, "src");
        const dest = path.join(work, "dest");
        writeTree(src, { "lib/libx.so.1": "ELF v1\n" });
        fs.symlinkSync("libx.so.1", path.join(src, "lib", "libx.so"));
        fs.mkdirSync(path.join(src, "uploads"));
        await withStack(backend, options(), async (stack) => {
            await stack.up();
            fs.unlinkSync(path.join(dest, "lib", "libx.so"));
            fs.symlinkSync("/elsewhere", path.join(dest, "lib", "libx.so"));
            fs.rmdirSync(path.join(dest, "uploads"));
            const refresh = collector();
            await stack.refresh({ onOutput: refresh.onOutput });
            assert.match(refresh.text(), /site: 1 changed, 1 removed on the host since the last deployment → \S+\n\s+~ lib\/libx\.so\n\s+- uploads/);
            const diff = await runCli(backend, stack, ["preview", "--diff"]);
            assert.match(diff, /~ lib\/libx\.so\s*: "link -> \/elsewhere" => "link -> libx\.so\.1"/);
            assert.match(diff, /\+ uploads\s*: "0755 dir"/);
            const up = await stack.up();
            assert.deepStrictEqual(outputValues(up.outputs).lastDelta, { added: 1, changed: 1, removed: 0, bytesSent: 0 });
            assert.strictEqual(fs.readlinkSync(path.join(dest, "lib", "libx.so")), "libx.so.1");
            assert.deepStrictEqual(rsyncDifferences(src, dest), []);
            assert.deepStrictEqual((await stack.preview()).changeSummary, { same: 2 }, "converged");
            await stack.destroy();
            assert.deepStrictEqual(hostSnapshot(dest), {});
        });
    });

    it("removes a deployed empty folder only while it is empty, naming one that holds files it did not deploy", async () => {
        const src = path.join(work, "src");
        const dest = path.join(work, "dest");
        writeTree(src, { "index.html": "v1\n" });
        fs.mkdirSync(path.join(src, "uploads"));
        fs.mkdirSync(path.join(src, "cache"));
        await withStack(backend, options({ preserveMtimes: "false" }), async (stack) => {
            await stack.up();
            assert.ok(fs.statSync(path.join(dest, "uploads")).isDirectory());
            fs.writeFileSync(path.join(dest, "uploads", "user.jpg"), "a user's upload\n");
            fs.rmdirSync(path.join(src, "uploads"));
            fs.rmdirSync(path.join(src, "cache"));
            const out = collector();
            await stack.up({ onOutput: out.onOutput });
            assert.match(out.text(), /kept folder \S+\/dest\/uploads on \S+: it holds 1 path pulumi-delta did not deploy \(user\.jpg\)/);
            assert.strictEqual(fs.readFileSync(path.join(dest, "uploads", "user.jpg"), "utf8"), "a user's upload\n");
            assert.ok(!fs.existsSync(path.join(dest, "cache")), "the empty one is gone");
            await stack.destroy();
            assert.deepStrictEqual(Object.keys(hostSnapshot(dest)), ["uploads", "uploads/user.jpg"]);
        });
    });
});
