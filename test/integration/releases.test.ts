import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { destinationKey } from "../../sdk/apply";
import { assertRestored, hostSnapshot, HostSnapshot, plantHost, stateLeftovers } from "../helpers/hostTree";
import { collector, newStack, outputValues, REPO, setConfig, StackOptions, TestBackend, testBackend } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { failure } from "../helpers/failure";
import { filesOf, resetTree, tempDir, TreeSpec } from "../helpers/tree";

/** A tree of `n` small files whose bytes depend only on their path, plus a.txt and b.txt naming the version. */
export function versionTree(version: string, n = 400, extra: TreeSpec = {}): TreeSpec {
    const spec: TreeSpec = { "a.txt": `${version}\n`, "b.txt": `${version}\n`, "bin/run.sh": { content: "#!/bin/sh\necho run\n", mode: 0o644 } };
    for (let i = 0; i < n; i++) spec[`assets/d${i % 10}/f${i}.txt`] = `asset ${i} `.repeat(200);
    return { ...spec, ...extra };
}

type LastDelta = { added: number; changed: number; removed: number; bytesSent: number };

describe("DeltaDeployment strategy \"releases\" (real engine, real sshd)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let work: string;
    let dest: string;
    let stateDir: string;
    let root: string;
    /** The destination's folder before any deployment. */
    let pristine: HostSnapshot;
    let pristineMode: number;

    before(async () => {
        backend = testBackend();
        sshd = await startSshd();
    });
    after(async () => {
        await sshd?.stop();
        backend?.dispose();
    });
    beforeEach(() => {
        work = tempDir("pd-it-rel-");
        dest = path.join(work, "host", "srv", "site");
        root = path.join(work, "host", "srv", ".site.releases");
        stateDir = path.join(work, "state");
        plantHost(path.join(work, "host"), { srv: 0o755, "srv/site": 0o750, "srv/site/conf": 0o700 }, {
            "srv/site/index.html": { content: "ORIGINAL index\n", mode: 0o640 },
            "srv/site/a.txt": { content: "ORIGINAL a\n", mode: 0o600 },
            "srv/site/conf/local.conf": { content: "# the host's own\n", mode: 0o644 },
        });
        pristine = hostSnapshot(dest);
        pristineMode = fs.statSync(dest).mode & 0o7777;
    });
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    function source(name: string, spec: TreeSpec): string {
        const dir = path.join(work, `src-${name}`);
        resetTree(dir, spec);
        return dir;
    }

    function options(src: string, extra: Record<string, string | number | undefined> = {}): StackOptions {
        return {
            config: { host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey, source: src, destination: dest, stateDir, strategy: "releases", ...extra },
            secrets: { privateKey: sshd.privateKey },
        };
    }

    /** Runs a scenario on a fresh stack, destroyed after a failure (a successful scenario destroys itself). */
    async function scenario(o: StackOptions, fn: (stack: Stack) => Promise<void>): Promise<void> {
        const stack = await newStack(backend, o);
        let ok = false;
        try {
            await fn(stack);
            ok = true;
        } finally {
            if (!ok) await stack.destroy().catch(() => stack.cancel().catch(() => undefined));
            await stack.workspace.removeStack(stack.name, { force: !ok });
        }
    }

    const live = () => fs.readlinkSync(dest);
    const releaseIds = () => fs.readdirSync(root).filter((n) => n !== "original").sort();

    function assertLive(src: string, what: string): string {
        assert.ok(fs.lstatSync(dest).isSymbolicLink(), `${what}: destination is a symlink`);
        assert.strictEqual(path.dirname(live()), root, `${what}: it points into ${root}`);
        assert.deepStrictEqual(filesOf(dest), filesOf(src), `${what}: the live tree is exactly the release`);
        return path.basename(live());
    }

    function assertAllGone(what: string): void {
        assert.ok(fs.lstatSync(dest).isDirectory(), `${what}: destination is a folder again`);
        assert.strictEqual(fs.statSync(dest).mode & 0o7777, pristineMode, `${what}: with its mode`);
        assertRestored(dest, pristine, `${what}: the original folder is back byte for byte (contents, modes, owners, mtimes)`);
        assert.deepStrictEqual(hostSnapshot(dest), pristine, `${what}: the very same files (inodes too)`);
        assert.ok(!fs.existsSync(root), `${what}: the releases are gone`);
        assert.deepStrictEqual(stateLeftovers(stateDir), [], `${what}: only records/ remains under stateDir`);
    }

    it("v1, v2, then v1 again: the rollback sends no file bytes and flips the link to v1's release; keepReleases prunes; releases lists them; destroy puts the original back byte for byte", async () => {
        const v1 = source("v1", versionTree("v1"));
        const v2 = source("v2", versionTree("v2", 400, { "bin/run.sh": { content: "#!/bin/sh\necho run\n", mode: 0o755 }, "new.txt": "new in v2\n" }));
        const v3 = source("v3", versionTree("v3"));
        const treeBytes = Object.keys(filesOf(v1)).reduce((n, p) => n + fs.statSync(path.join(v1, p)).size, 0);
        await scenario(options(v1, { keepReleases: 2 }), async (stack) => {
            const up1 = await stack.up();
            const r1 = assertLive(v1, "after v1");
            assert.deepStrictEqual(hostSnapshot(path.join(root, "original")), pristine, "the folder that was at destination is kept aside as the original, untouched");
            assert.strictEqual((outputValues(up1.outputs).lastDelta as LastDelta).bytesSent, treeBytes, "the first release sends the tree");
            assert.strictEqual(fs.statSync(root).mode & 0o777, 0o755, "the releases folder is readable by whoever reads destination");

            await setConfig(stack, options(v2, { keepReleases: 2 }));
            const up2 = await stack.up();
            const r2 = assertLive(v2, "after v2");
            assert.notStrictEqual(r2, r1);
            const d2 = outputValues(up2.outputs).lastDelta as LastDelta;
            assert.deepStrictEqual(d2, { added: 1, changed: 3, removed: 0, bytesSent: Buffer.byteLength("v2\n") * 2 + Buffer.byteLength("new in v2\n") }, "only the delta crosses the wire (the chmod +x is copied on the host)");
            assert.strictEqual(fs.statSync(path.join(root, r2, "assets/d3/f3.txt")).ino, fs.statSync(path.join(root, r1, "assets/d3/f3.txt")).ino, "an unchanged file is a hard link to the previous release's");
            assert.notStrictEqual(fs.statSync(path.join(root, r2, "bin/run.sh")).ino, fs.statSync(path.join(root, r1, "bin/run.sh")).ino, "a file whose mode changed is a copy");
            assert.strictEqual(fs.statSync(path.join(root, r1, "bin/run.sh")).mode & 0o777, 0o644, "and the previous release keeps its mode");

            await setConfig(stack, options(v1, { keepReleases: 2 }));
            const out = collector();
            await stack.preview({ onOutput: out.onOutput });
            assert.match(out.text(), new RegExp(`site: 0 added, 3 changed, 1 removed, \\d+ unchanged → .* \\(rollback to kept release ${r1}: no file bytes sent, only the link flips\\)`), "the preview's delta line names the rollback");
            const up3 = await stack.up();
            assert.strictEqual(assertLive(v1, "after v1 again"), r1, "the link points at v1's release");
            const d3 = outputValues(up3.outputs).lastDelta as LastDelta;
            assert.ok(d3.bytesSent < treeBytes / 100, `the rollback sends less than 1 % of the tree's ${treeBytes} bytes, sent ${d3.bytesSent}`);
            assert.strictEqual(d3.bytesSent, 0, "in fact no file bytes at all");
            assert.deepStrictEqual(releaseIds(), [r1, r2].sort(), "both kept");

            // A third version: keepReleases 2 keeps the live one and the most recently live (v1's), so v2's goes.
            await setConfig(stack, options(v3, { keepReleases: 2 }));
            await stack.up();
            const r3 = assertLive(v3, "after v3");
            assert.deepStrictEqual(releaseIds(), [r1, r3].sort(), "keepReleases 2: the live release and v1's, which was live last");
            const listing = execFileSync("node", [path.join(REPO, "build", "sdk", "cli", "history.js"), "releases", dest, "--state-dir", stateDir], { encoding: "utf8" });
            const rows = listing.trimEnd().split("\n");
            assert.strictEqual(rows.length, 4, listing);
            assert.match(rows[0], /^ {3}ID +TIME +MANIFEST +FILES +FOLDER$/);
            assert.match(rows[1], new RegExp(`^ {3}${r1}  \\S+Z +sha256:[0-9a-f]{64}  ${Object.keys(filesOf(v1)).length} +${path.join(root, r1)}$`));
            assert.match(rows[2], new RegExp(`^\\*  ${r3}  \\S+Z +sha256:[0-9a-f]{64}  `), "the live one is marked");
            assert.strictEqual(rows[3], `${dest} → ${path.join(root, r3)}`);

            await stack.destroy();
            assertAllGone("after destroy");
        });
    });

    it("a failing validate leaves the old release live and removes the new one; a failing onChange flips back; validate sees {release}", async () => {
        const v1 = source("v1", versionTree("v1", 20, { ok: "ok\n" }));
        const bad = source("bad", versionTree("v2", 20));
        const broken = source("broken", versionTree("broken", 20, { ok: "ok\n" }));
        const hooks = { validate: "test -f {release}/ok", onChange: `! grep -q broken ${dest}/a.txt` };
        await scenario(options(v1, hooks), async (stack) => {
            await stack.up();
            const r1 = assertLive(v1, "after v1");

            await setConfig(stack, options(bad, hooks));
            const msg = await failure(stack.up());
            assert.match(msg, /validate hook failed on .*: `test -f '.*\/\.site\.releases\/[^']+'\/ok` exited with code 1/);
            assert.match(msg, /was not activated; the previous one stays live/);
            assert.strictEqual(assertLive(v1, "after the refused release"), r1, "the old release is live");
            assert.deepStrictEqual(releaseIds(), [r1], "the refused release is removed");

            await setConfig(stack, options(broken, hooks));
            const msg2 = await failure(stack.up());
            assert.match(msg2, /onChange hook failed on [\s\S]*destination points at the previous release again and onChange ran again: it succeeded/);
            assert.strictEqual(assertLive(v1, "after the failed onChange"), r1, "flipped back to the old release");
            assert.deepStrictEqual(releaseIds(), [r1], "the release that failed never counts and is removed");

            await stack.destroy();
            assertAllGone("after destroy");
        });
    });

    it("switches strategy both ways on an existing deployment without losing a file of the host's", async () => {
        const v1 = source("v1", versionTree("v1", 20, { "index.html": "<h1>v1</h1>\n" }));
        const v2 = source("v2", versionTree("v2", 20, { "index.html": "<h1>v2</h1>\n" }));
        await scenario(options(v1, { strategy: "inPlace" }), async (stack) => {
            await stack.up();
            assert.ok(fs.lstatSync(dest).isDirectory());
            assert.strictEqual(fs.readFileSync(path.join(dest, "conf/local.conf"), "utf8"), "# the host's own\n", "inPlace leaves the host's own files");

            await setConfig(stack, options(v2, { strategy: "releases" }));
            const up2 = await stack.up();
            assert.strictEqual(up2.summary.resourceChanges?.update, 1, "a change of strategy is an update, not a replacement");
            assert.match(up2.stdout, /first release: the folder at \S+ is kept aside as the original \(\S+\/\.site\.releases\/original\); destination is absent for one rename, until the symlink takes its place/, "the log says destination is absent for one rename");
            assertLive(v2, "inPlace → releases");
            assertRestored(path.join(root, "original"), pristine, "the original kept aside is the folder as it was before any deployment");

            await setConfig(stack, options(v1, { strategy: "inPlace" }));
            const up3 = await stack.up();
            assert.strictEqual(up3.summary.resourceChanges?.update, 1);
            assert.match(up3.stdout, /strategy changes from "releases" to "inPlace": putting the original back/);
            assert.match(up3.stdout, /site is absent for one rename: the symlink goes, then the original folder \(\S+\) takes its place/, "the log says so");
            assert.ok(fs.lstatSync(dest).isDirectory(), "releases → inPlace: destination is a folder again");
            assert.ok(!fs.existsSync(root), "the releases are gone");
            const expected = { ...filesOf(v1), "conf/local.conf": pristineFile("conf/local.conf") };
            assert.deepStrictEqual(filesOf(dest), expected, "the original's own files and v1 in place");

            await stack.destroy();
            assertRestored(dest, pristine, "destroy gives back the pre-deployment folder byte for byte");
            assert.deepStrictEqual(stateLeftovers(stateDir), []);
        });
    });

    function pristineFile(p: string): string {
        const e = pristine[p];
        return `${e.mode} ${e.sha256}`;
    }

    it("refuses a single-file source in Check, naming strategy", async () => {
        const file = path.join(work, "one.conf");
        fs.writeFileSync(file, "x\n");
        await scenario(options(file), async (stack) => {
            const msg = await failure(stack.preview());
            assert.match(msg, /strategy "releases" needs a directory source \(a release is a whole folder behind a symlink\), but source ".*one\.conf" is a single file; use strategy "inPlace" for a single file/);
        });
    });

    void destinationKey;
});
