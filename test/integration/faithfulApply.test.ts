import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { applyFolderModes, applyFolderMtimes, deploy, destroy, placeEntry } from "../../sdk/apply";
import { buildManifest, sourcePath } from "../../sdk/manifest";
import { connectSsh, LocalTransport, SudoTransport, Transport } from "../../sdk/transport";
import { authorizeKey, Sshd, startSshd } from "../helpers/sshd";
import { tempDir, writeTree } from "../helpers/tree";

/** Every path under `root` as kind, mode and content (a symlink's target text), lstat only. */
function describeTree(root: string): Record<string, string> {
    const out: Record<string, string> = {};
    if (!fs.existsSync(root)) return out;
    const visit = (dir: string, rel: string) => {
        for (const name of fs.readdirSync(dir).sort()) {
            const abs = path.join(dir, name);
            const r = rel ? `${rel}/${name}` : name;
            const st = fs.lstatSync(abs);
            const mode = (st.mode & 0o7777).toString(8);
            if (st.isSymbolicLink()) out[r] = `link -> ${fs.readlinkSync(abs)}`;
            else if (st.isDirectory()) {
                out[r] = `dir ${mode}`;
                visit(abs, r);
            } else out[r] = `file ${mode} ${crypto.createHash("sha256").update(fs.readFileSync(abs)).digest("hex").slice(0, 12)}`;
        }
    };
    visit(root, "");
    return out;
}

function rsyncDifferences(src: string, dest: string, flags = "-ani"): string[] {
    return execFileSync("rsync", [flags, "--delete", `${src}/`, `${dest}/`], { encoding: "utf8" })
        .split("\n")
        .filter((l) => l.trim() !== "");
}

/** v1 and v2 turn each kind into another at the same paths. */
function writeV1(src: string): void {
    fs.rmSync(src, { recursive: true, force: true });
    writeTree(src, { a: "file a\n", "b/x": "file b/x\n", "e/f": "file e/f\n" });
    fs.mkdirSync(path.join(src, "c"));
    fs.symlinkSync("a", path.join(src, "d"));
}

function writeV2(src: string): void {
    fs.rmSync(src, { recursive: true, force: true });
    // a: file → folder; b: folder → file; c: empty folder → file; d: symlink → folder; e: folder → symlink.
    writeTree(src, { "a/y": "file a/y\n", b: "file b\n", c: "file c\n", "d/z": "file d/z\n" });
    fs.symlinkSync("a/y", path.join(src, "e"));
}

for (const kind of ["local", "ssh", "sudo"] as const) {
    describe(`faithful tree over ${kind}, apply engine: paths changing kind, follow, placeEntry for release folders`, function () {
        let sshd: Sshd | undefined;
        let work: string;
        // sudo: a login user that is not root, acting as root through sudo -n (symlinks, readlink and mtimes by shell there).
        const suffix = crypto.randomBytes(3).toString("hex");
        const sudoer = `pdfaith${suffix}`;
        const sudoersFile = `/etc/sudoers.d/pulumi-delta-test-${suffix}`;
        const open = async (): Promise<Transport> => {
            if (!sshd) return new LocalTransport();
            const t = await connectSsh(sshd.connection());
            return kind === "sudo" ? SudoTransport.open(t, sudoer) : t;
        };
        before(async () => {
            if (kind === "ssh") sshd = await startSshd();
            if (kind === "sudo") {
                if (process.getuid?.() !== 0) throw new Error("this test creates a user and a sudoers entry: run it as root");
                execFileSync("useradd", ["--create-home", "--shell", "/bin/sh", "--password", "*", sudoer]);
                fs.writeFileSync(`${sudoersFile}.tmp`, `${sudoer} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
                execFileSync("visudo", ["-cqf", `${sudoersFile}.tmp`]);
                fs.renameSync(`${sudoersFile}.tmp`, sudoersFile);
                sshd = await startSshd({ user: sudoer });
                authorizeKey(sshd, sudoer);
            }
        });
        after(async () => {
            await sshd?.stop();
            if (kind === "sudo") {
                fs.rmSync(sudoersFile, { force: true });
                fs.rmSync(`${sudoersFile}.tmp`, { force: true });
                try {
                    execFileSync("userdel", ["--remove", sudoer], { stdio: "ignore" });
                } catch {
                    // Not created (before failed early).
                }
            }
        });
        beforeEach(() => {
            work = tempDir("pd-faithful-apply-");
            // The sudoer uploads into its own folder, then root moves; the source must be readable only here, the host side is root's.
            fs.chmodSync(work, 0o755);
        });
        afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

        it("turns files into folders, folders into files and links and back, exactly; a failing validate puts v1 back", async () => {
            const src = path.join(work, "src");
            const dest = path.join(work, "host", "site");
            const stateDir = path.join(work, "state");
            const t = await open();
            try {
                writeV1(src);
                await deploy(t, { source: src, destination: dest, stateDir, next: buildManifest(src, [], { cache: false }) });
                assert.deepStrictEqual(rsyncDifferences(src, dest), []);
                const v1 = describeTree(dest);
                assert.strictEqual(v1.d, "link -> a");
                assert.strictEqual(v1.c, "dir 755");

                writeV2(src);
                await assert.rejects(
                    deploy(t, { source: src, destination: dest, stateDir, next: buildManifest(src, [], { cache: false }), hooks: { validate: "false", timeoutMs: 30000 } }),
                    /validate/,
                );
                assert.deepStrictEqual(describeTree(dest), v1, "the failed deployment is undone: every kind back as it was");

                const r = await deploy(t, { source: src, destination: dest, stateDir, next: buildManifest(src, [], { cache: false }) });
                assert.deepStrictEqual(rsyncDifferences(src, dest), [], "v2 exactly");
                assert.deepStrictEqual(r.delta, { added: ["a/y", "b", "d/z", "e"], changed: ["c"], removed: ["a", "b/x", "d", "e/f"], unchanged: 0 });

                writeV1(src);
                await deploy(t, { source: src, destination: dest, stateDir, next: buildManifest(src, [], { cache: false }) });
                assert.deepStrictEqual(rsyncDifferences(src, dest), [], "and back to v1 exactly");
                assert.deepStrictEqual(describeTree(dest), v1);

                await destroy(t, { destination: dest, stateDir, deployed: buildManifest(src, [], { cache: false }), createdDirs: [], onDestroy: "restore" });
                assert.ok(!fs.existsSync(dest), `destroy removes what it created: ${JSON.stringify(describeTree(path.dirname(dest)))}`);
            } finally {
                await t.close();
            }
        });

        it("placeEntry puts each entry of a manifest at another root (what a release folder is built with); folder modes and mtimes after", async () => {
            const src = path.join(work, "src");
            const root = path.join(work, "host", "release-1");
            writeTree(src, { "bin/run.sh": { content: "#!/bin/sh\n", mode: 0o755 }, "lib/libx.so.1": "ELF\n" });
            fs.symlinkSync("libx.so.1", path.join(src, "lib", "libx.so"));
            fs.mkdirSync(path.join(src, "uploads"));
            fs.chmodSync(path.join(src, "lib"), 0o750);
            execFileSync("find", [src, "-exec", "touch", "-h", "-d", "@981173106", "{}", "+"]);
            const m = buildManifest(src, [], { cache: false });
            const t = await open();
            try {
                await t.mkdirp(root);
                // Parents before children: folder entries and the folders files imply.
                const paths = [...m.entries.keys()].sort((a, b) => a.split("/").length - b.split("/").length || (a < b ? -1 : 1));
                for (const p of paths) {
                    await t.mkdirp(path.posix.dirname(`${root}/${p}`));
                    const r = await placeEntry(t, { localPath: sourcePath(src, m.kind, p), at: `${root}/${p}`, entry: m.entries.get(p)! });
                    if (!m.entries.get(p)!.type) assert.strictEqual(r.sha256, m.entries.get(p)!.sha256);
                }
                await applyFolderModes(t, root, m);
                await applyFolderMtimes(t, src, root, m);
                assert.deepStrictEqual(rsyncDifferences(src, root), []);
            } finally {
                await t.close();
            }
        });

        it('with symlinks: "follow", deploys what links point at (a file outside the source, a folder) as rsync -aL would', async () => {
            const src = path.join(work, "src");
            const outside = path.join(work, "outside");
            const dest = path.join(work, "host", "site");
            const stateDir = path.join(work, "state");
            writeTree(outside, { "shared.conf": "from outside\n" });
            writeTree(src, { "real/a.txt": "a\n" });
            fs.symlinkSync(path.join(outside, "shared.conf"), path.join(src, "shared.conf"));
            fs.symlinkSync("real", path.join(src, "alias"));
            const old = Date.UTC(2003, 4, 5) / 1000;
            fs.utimesSync(path.join(outside, "shared.conf"), old, old);
            const t = await open();
            try {
                await deploy(t, { source: src, destination: dest, stateDir, next: buildManifest(src, [], { cache: false, symlinks: "follow" }) });
                assert.deepStrictEqual(rsyncDifferences(src, dest, "-aniL"), []);
                assert.ok(fs.lstatSync(path.join(dest, "alias")).isDirectory() && fs.lstatSync(path.join(dest, "shared.conf")).isFile());
                assert.strictEqual(fs.statSync(path.join(dest, "shared.conf")).mtimeMs, old * 1000, "the target's mtime");
            } finally {
                await t.close();
            }
        });
    });
}
