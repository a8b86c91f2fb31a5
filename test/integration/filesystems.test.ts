import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { deploy, destinationKey, destroy } from "../../sdk/apply";
import { buildManifest } from "../../sdk/manifest";
import { connectSsh, LocalTransport, Transport } from "../../sdk/transport";
import { Sshd, startSshd } from "../helpers/sshd";
import { contentOf, filesOf, snapshot, tempDir, writeTree } from "../helpers/tree";

/** Destinations on a small tmpfs of their own (needs root to mount), state on the usual disk. */
for (const kind of ["local", "ssh"] as const) {
    describe(`apply engine over ${kind} with the destination on another filesystem (tmpfs)`, function () {
        let sshd: Sshd | undefined;
        let work: string;
        let mnt: string;
        const open = async (): Promise<Transport> => (sshd ? connectSsh(sshd.connection()) : new LocalTransport());

        before(async function () {
            if (kind === "ssh") sshd = await startSshd();
        });
        after(async () => sshd?.stop());
        beforeEach(function () {
            work = tempDir("pd-fs-");
            mnt = path.join(work, "mnt");
            fs.mkdirSync(mnt);
            try {
                execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt], { stdio: "pipe" });
            } catch (err) {
                fs.rmSync(work, { recursive: true, force: true });
                this.skip(); // not root, or mounts not allowed here
            }
        });
        afterEach(() => {
            execFileSync("umount", [mnt]);
            fs.rmSync(work, { recursive: true, force: true });
        });

        it("stages beside the destination (then nowhere), keeps originals by copy, and destroy restores them", async () => {
            const src = path.join(work, "src");
            writeTree(src, { "index.html": "new index\n", "css/a.css": "a\n" });
            const dest = path.join(mnt, "site");
            writeTree(dest, { "index.html": "ORIGINAL\n", "keep.txt": "keep\n" });
            const before = snapshot(mnt);
            const stateDir = path.join(work, "state");
            const t = await open();
            try {
                const next = buildManifest(src, [], { cache: false });
                const r = await deploy(t, { source: src, destination: dest, stateDir, next });
                assert.deepStrictEqual(fs.readdirSync(mnt), ["site"], "no staging left beside the destination");
                assert.deepStrictEqual(filesOf(dest), { ...filesOf(src), "keep.txt": filesOf(dest)["keep.txt"] });
                assert.strictEqual(fs.readFileSync(path.join(stateDir, destinationKey(dest), "originals", "index.html"), "utf8"), "ORIGINAL\n");
                await destroy(t, { destination: dest, stateDir, deployed: next, createdDirs: r.createdDirs, onDestroy: "restore" });
                assert.deepStrictEqual(contentOf(snapshot(mnt)), contentOf(before));
            } finally {
                await t.close();
            }
        });

        it("refuses a delta that does not fit, naming host, path, needed and free bytes, before writing anything", async () => {
            const src = path.join(work, "src");
            writeTree(src, { "big.bin": Buffer.alloc(6 * 1024 * 1024, 1).toString("latin1") });
            const dest = path.join(mnt, "site");
            const t = await open();
            try {
                await assert.rejects(deploy(t, { source: src, destination: dest, stateDir: path.join(work, "state"), next: buildManifest(src, [], { cache: false }) }), (err: Error) => {
                    assert.match(err.message, new RegExp(`^not enough room on ${t.host.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} for ${dest}: the delta needs ${6 * 1024 * 1024} bytes \\(staging( and backups)?\\), \\d+ are free; free some space or deploy to another filesystem$`));
                    return true;
                });
                assert.deepStrictEqual(fs.readdirSync(mnt), [], "nothing written");
            } finally {
                await t.close();
            }
        });
    });
}
