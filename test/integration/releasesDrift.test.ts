import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { assertRestored, hostSnapshot } from "../helpers/hostTree";
import { collector, outputValues, runCli, setConfig, StackOptions, testBackend, TestBackend, withStack } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { filesOf, resetTree, tempDir, TreeSpec } from "../helpers/tree";

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
type LastDelta = { added: number; changed: number; removed: number; bytesSent: number };
type DeployRecord = { changes: { file: string; action: string; drift?: string; handEdited?: string }[] };

describe("pulumi refresh of a strategy \"releases\" deployment (real engine, real sshd)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let work: string;
    before(async () => {
        backend = testBackend();
        sshd = await startSshd();
        work = tempDir("pd-rdrift-");
    });
    after(async () => {
        await sshd?.stop();
        backend?.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("finds an edit, a removal and a chmod in the live release, up repairs exactly them without linking the edited inode, kept releases never serve the edit, a lost link is put back and a folder in its place refused", async () => {
        const host = path.join(work, "host");
        const dest = path.join(host, "site");
        const root = path.join(host, ".site.releases");
        const stateDir = path.join(work, "state");
        fs.mkdirSync(dest, { recursive: true });
        fs.writeFileSync(path.join(dest, "theirs.txt"), "was here first\n");
        const pristine = hostSnapshot(dest);
        const filler: TreeSpec = {};
        for (let i = 0; i < 50; i++) filler[`assets/f${i}.txt`] = `asset ${i} `.repeat(100);
        const v1 = path.join(work, "v1");
        const v2 = path.join(work, "v2");
        resetTree(v1, { "index.html": "<h1>v1</h1>\n", "app.css": "body{}\n", "keep.txt": "same\n", ...filler });
        resetTree(v2, { "index.html": "<h1>v1</h1>\n", "app.css": "body{color:red}\n", "keep.txt": "same\n", ...filler });
        const opts = (src: string): StackOptions => ({
            config: { source: src, destination: dest, stateDir, strategy: "releases", host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey },
            secrets: { privateKey: sshd.privateKey },
        });
        const live = () => path.basename(fs.readlinkSync(dest));
        const ino = (p: string) => fs.statSync(p).ino;
        await withStack(backend, opts(v1), async (stack) => {
            await stack.up();
            const r1 = live();
            const clean = collector();
            await stack.refresh({ onOutput: clean.onOutput });
            assert.doesNotMatch(clean.text(), /on the host since the last deployment|no longer the symlink/);
            assert.deepStrictEqual((await stack.preview()).changeSummary, { same: 2 });

            // By hand, through destination: an edit in place (the same inode), a removal, a chmod.
            const edited = path.join(dest, "index.html");
            const editedIno = ino(edited);
            fs.writeFileSync(edited, "<h1>hot fix</h1>\n");
            fs.utimesSync(edited, new Date(Date.now() + 5000), new Date(Date.now() + 5000));
            assert.strictEqual(ino(edited), editedIno, "the edit is in place");
            fs.rmSync(path.join(dest, "app.css"));
            fs.chmodSync(path.join(dest, "keep.txt"), 0o600);
            const refresh = collector();
            await stack.refresh({ onOutput: refresh.onOutput });
            assert.match(refresh.text(), /site: 2 changed, 1 removed on the host since the last deployment → root@127\.0\.0\.1:\d+:\S+ \(live release \S+\)\n\s+~ index\.html\n\s+~ keep\.txt\n\s+- app\.css/);

            const plain = collector();
            await stack.preview({ onOutput: plain.onOutput });
            assert.match(plain.text(), /site: 1 added, 2 changed, 0 removed, 50 unchanged/);
            assert.doesNotMatch(plain.text(), /rollback to kept release/, "a repair of the live release is no flip");
            assert.match(plain.text(), /changed on the host since the last deployment \(pulumi refresh\): app\.css, index\.html, keep\.txt/);
            const diff = await runCli(backend, stack, ["preview", "--diff"]);
            assert.match(diff, /~ index\.html\s*: "0644 sha256:([0-9a-f]{64})" => "0644 sha256:(?!\1)[0-9a-f]{64}"/);
            assert.match(diff, /~ keep\.txt\s*: "0600 sha256:([0-9a-f]{64})" => "0644 sha256:\1"/);
            assert.match(diff, /\+ app\.css/);

            const upOut = collector();
            const up = await stack.up({ onOutput: upOut.onOutput });
            const r2 = live();
            assert.notStrictEqual(r2, r1, "a new release");
            assert.deepStrictEqual(outputValues(up.outputs).lastDelta, { added: 1, changed: 2, removed: 0, bytesSent: Buffer.byteLength("<h1>v1</h1>\n") + Buffer.byteLength("body{}\n") }, "the edit and the removal sent, the chmod copied on the host");
            assert.deepStrictEqual(filesOf(dest), filesOf(v1), "the live tree is the source byte for byte, modes too");
            assert.notStrictEqual(ino(path.join(dest, "index.html")), editedIno, "the edited inode is not linked into the new release");
            assert.notStrictEqual(ino(path.join(dest, "keep.txt")), ino(path.join(root, r1, "assets/f1.txt")), "sanity");
            assert.strictEqual(ino(path.join(dest, "assets/f7.txt")), ino(path.join(root, r1, "assets/f7.txt")), "untouched files are still hard links");
            const record = outputValues(up.outputs).lastRecord as DeployRecord;
            const change = record.changes.find((c) => c.file === path.join(dest, "index.html"));
            assert.strictEqual(change?.drift, "content", JSON.stringify(record.changes));
            assert.ok(change.handEdited && change.handEdited.startsWith(stateDir + path.sep) && change.handEdited.includes(`${path.sep}drift${path.sep}`), `kept where inPlace keeps it: ${change.handEdited}`);
            assert.strictEqual(fs.readFileSync(change.handEdited, "utf8"), "<h1>hot fix</h1>\n", "the hand-edited version is kept");
            assert.deepStrictEqual(record.changes.filter((c) => c.drift).map((c) => [path.basename(c.file), c.drift]), [["app.css", "removed"], ["index.html", "content"], ["keep.txt", "mode"]]);
            assert.match(upOut.text(), new RegExp(`kept release ${r1} shared 3 of the drifted files .* relinked them`), upOut.text());
            assert.deepStrictEqual(filesOf(path.join(root, r1)), filesOf(v1), "the kept release that shared the edited inode is v1 again");
            assert.deepStrictEqual((await stack.preview()).changeSummary, { same: 2 }, "converged");
            const again = collector();
            await stack.refresh({ onOutput: again.onOutput });
            assert.doesNotMatch(again.text(), /on the host since the last deployment/, "a refresh after the repair finds nothing");

            // v2, then back to v1: the kept release goes live by a flip and serves v1's bytes, not the hand edit.
            await setConfig(stack, opts(v2));
            await stack.up();
            const r3 = live();
            assert.deepStrictEqual(filesOf(dest), filesOf(v2));
            await setConfig(stack, opts(v1));
            const back = await stack.up();
            assert.strictEqual((outputValues(back.outputs).lastDelta as LastDelta).bytesSent, 0, "a flip alone");
            assert.ok([r1, r2].includes(live()), "a kept v1 release is live again");
            assert.deepStrictEqual(filesOf(dest), filesOf(v1), "serving the original v1 bytes");
            assert.strictEqual(fs.readFileSync(path.join(dest, "index.html"), "utf8"), "<h1>v1</h1>\n");

            // An edit no refresh saw reaches the kept v2 release through the shared inode: the rollback to it must not serve it.
            const shared = path.join(dest, "index.html");
            assert.strictEqual(ino(shared), ino(path.join(root, r3, "index.html")), "v2's index.html is the same inode as the live one");
            fs.writeFileSync(shared, "<h1>unseen edit</h1>\n");
            fs.utimesSync(shared, new Date(Date.now() + 9000), new Date(Date.now() + 9000));
            await setConfig(stack, opts(v2));
            const rollOut = collector();
            const roll = await stack.up({ onOutput: rollOut.onOutput });
            assert.match(rollOut.text(), new RegExp(`kept release ${r3} holds this manifest, but 1 of its files changed .*index\\.html.*building a new release instead of flipping to it`));
            assert.notStrictEqual(live(), r3, "not the damaged release");
            assert.ok(!fs.existsSync(path.join(root, r3)), "which is removed");
            assert.deepStrictEqual(filesOf(dest), filesOf(v2), "v2's bytes, not the unseen edit");
            const rollRecord = outputValues(roll.outputs).lastRecord as DeployRecord;
            const unseen = rollRecord.changes.find((c) => c.file === shared)?.handEdited;
            assert.ok(unseen && fs.readFileSync(unseen, "utf8") === "<h1>unseen edit</h1>\n", `the unseen edit is kept too: ${JSON.stringify(rollRecord.changes)}`);
            for (const id of fs.readdirSync(root).filter((n) => n !== "original" && n !== live())) {
                assert.notStrictEqual(fs.readFileSync(path.join(root, id, "index.html"), "utf8"), "<h1>unseen edit</h1>\n", `kept release ${id} does not hold the edit`);
            }

            // destination replaced by a symlink elsewhere: refresh says so and names the fix; up points it back.
            const elsewhere = path.join(host, "hotfix");
            fs.mkdirSync(elsewhere);
            fs.unlinkSync(dest);
            fs.symlinkSync(elsewhere, dest);
            const linkRefresh = collector();
            await stack.refresh({ onOutput: linkRefresh.onOutput });
            assert.match(linkRefresh.text(), new RegExp(`${esc(dest)} is a symlink to ${esc(elsewhere)}, no longer the symlink to the live release \\S+: pulumi up points it at the live release again`));
            const linkPreview = await stack.preview();
            assert.deepStrictEqual(linkPreview.changeSummary, { same: 1, update: 1 }, "the lost link is a change");
            await stack.up();
            assert.strictEqual(path.dirname(fs.readlinkSync(dest)), root, "destination points into the releases again");
            assert.deepStrictEqual(filesOf(dest), filesOf(v2));
            assert.ok(fs.existsSync(elsewhere), "what it pointed at is left alone");
            assert.deepStrictEqual((await stack.preview()).changeSummary, { same: 2 }, "converged");

            // A folder stands at destination: someone's data, so up refuses, naming the fix, and moves nothing.
            const liveNow = fs.readlinkSync(dest);
            fs.unlinkSync(dest);
            fs.mkdirSync(dest);
            fs.writeFileSync(path.join(dest, "someone.txt"), "data\n");
            const folderRefresh = collector();
            await stack.refresh({ onOutput: folderRefresh.onOutput });
            assert.match(folderRefresh.text(), new RegExp(`${esc(dest)} is a folder, no longer the symlink to the live release ${esc(liveNow)}: pulumi up refuses to replace it; move it away \\(or put the link back: ln -sfn ${esc(liveNow)} ${esc(dest)}\\)`));
            await assert.rejects(stack.up(), new RegExp(`refused on \\S+: ${esc(dest)} is a folder, no longer the symlink`));
            assert.strictEqual(fs.readFileSync(path.join(dest, "someone.txt"), "utf8"), "data\n", "the folder is untouched");
            fs.rmSync(dest, { recursive: true });
            fs.symlinkSync(liveNow, dest);
            const fixed = collector();
            await stack.refresh({ onOutput: fixed.onOutput });
            assert.doesNotMatch(fixed.text(), /no longer the symlink/);
            assert.deepStrictEqual((await stack.preview()).changeSummary, { same: 2 }, "the link put back by hand: converged");

            await stack.destroy();
            assertRestored(dest, pristine, "destroy puts the original back");
            assert.ok(!fs.existsSync(root), "and removes the releases");
        });
    });
});
