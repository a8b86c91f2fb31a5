import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { layoutFor } from "../../sdk/apply";
import { collector, outputValues, StackOptions, testBackend, TestBackend, withStack } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { tempDir } from "../helpers/tree";

const SIZE = 64 * 1024 * 1024;

function sha(file: string): string {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Overwrites 1 MiB in the middle of the file with a byte that depends on `seed`. */
function overwriteMiddle(file: string, seed: string): void {
    const fd = fs.openSync(file, "r+");
    const block = Buffer.alloc(1024 * 1024, seed.charCodeAt(0));
    fs.writeSync(fd, block, 0, block.length, SIZE / 2);
    fs.closeSync(fd);
}

describe("DeltaDeployment of a large file (real engine, real sshd)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let noCopy: Sshd;
    let work: string;
    before(async () => {
        backend = testBackend();
        [sshd, noCopy] = await Promise.all([startSshd(), startSshd({ sftpServer: "/usr/lib/openssh/sftp-server -P copy-data" })]);
    });
    after(async () => {
        await Promise.all([sshd.stop(), noCopy.stop()]);
        backend.dispose();
    });
    beforeEach(() => {
        work = tempDir("pd-largefile-");
        fs.mkdirSync(path.join(work, "src"));
        const fd = fs.openSync(path.join(work, "src", "media.bin"), "w");
        for (let off = 0; off < SIZE; off += 4 * 1024 * 1024) fs.writeSync(fd, crypto.randomBytes(4 * 1024 * 1024));
        fs.closeSync(fd);
    });
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    function opts(s: Sshd, env?: Record<string, string>): StackOptions {
        return {
            config: { host: s.host, port: s.port, user: s.user, hostKey: s.hostKey, source: path.join(work, "src"), destination: path.join(work, "dest"), stateDir: path.join(work, "state") },
            secrets: { privateKey: s.privateKey },
            env,
        };
    }

    const bytesSent = (up: { outputs: Parameters<typeof outputValues>[0] }) => (outputValues(up.outputs).lastDelta as { bytesSent: number }).bytesSent;

    it("patches a 1 MiB edit in the middle (well under 10% sent), and host-side drift forces a whole upload, never corruption", async () => {
        const local = path.join(work, "src", "media.bin");
        const remote = path.join(work, "dest", "media.bin");
        await withStack(backend, opts(sshd), async (stack) => {
            const first = await stack.up();
            assert.strictEqual((outputValues(first.outputs).lastDelta as { bytesSent: number }).bytesSent, SIZE);
            overwriteMiddle(local, "a");
            const second = await stack.up();
            const sent = (outputValues(second.outputs).lastDelta as { bytesSent: number }).bytesSent;
            assert.ok(sent < SIZE / 10, `sent ${sent} bytes for a 1 MiB edit`);
            assert.strictEqual(sha(remote), sha(local));

            // Someone edits the host's copy behind our back (same size): the patch must not build on it.
            const fd = fs.openSync(remote, "r+");
            fs.writeSync(fd, Buffer.alloc(4096, 1), 0, 4096, 12345);
            fs.closeSync(fd);
            overwriteMiddle(local, "b");
            const third = await stack.up();
            // The mtime recorded after the last deployment gives it away (within the same second, the patch's sha256 on the host would): sent whole.
            assert.ok((outputValues(third.outputs).lastDelta as { bytesSent: number }).bytesSent >= SIZE);
            assert.strictEqual(sha(remote), sha(local));
        });
    });

    it("sends the whole file when the server has no copy-data", async () => {
        const local = path.join(work, "src", "media.bin");
        await withStack(backend, opts(noCopy), async (stack) => {
            await stack.up();
            overwriteMiddle(local, "c");
            const up = await stack.up();
            assert.strictEqual((outputValues(up.outputs).lastDelta as { bytesSent: number }).bytesSent, SIZE);
            assert.strictEqual(sha(path.join(work, "dest", "media.bin")), sha(local));
        });
    });

    it("patches from the chunk list kept on the host when this machine's cache is empty (a fresh runner)", async () => {
        const local = path.join(work, "src", "media.bin");
        const remote = path.join(work, "dest", "media.bin");
        const cache = path.join(work, "cache");
        await withStack(backend, opts(sshd, { PULUMI_DELTA_CACHE_DIR: cache }), async (stack) => {
            const v1 = sha(local);
            await stack.up();
            const chunks = layoutFor(path.join(work, "state"), path.join(work, "dest")).chunks;
            assert.ok(fs.existsSync(path.join(chunks, `${v1}.pdc1`)), `no host chunk list in ${chunks}`);
            fs.rmSync(cache, { recursive: true, force: true });
            overwriteMiddle(local, "d");
            const v2 = sha(local);
            const second = await stack.up();
            assert.ok(bytesSent(second) < SIZE / 10, `sent ${bytesSent(second)} bytes with an empty cache`);
            assert.strictEqual(sha(remote), v2);
            // The old list came from the host into this machine's cache; the host now keeps the new version's list only.
            assert.ok(fs.existsSync(path.join(cache, "chunks", `${v1}.pdc`)));
            assert.deepStrictEqual(
                fs.readdirSync(chunks).filter((f) => f.endsWith(".pdc1")),
                [`${v2}.pdc1`],
            );
        });
    });

    it("sends the whole file when the host's copy kept its size and bytes but its mtime moved", async () => {
        const local = path.join(work, "src", "media.bin");
        const remote = path.join(work, "dest", "media.bin");
        await withStack(backend, opts(sshd), async (stack) => {
            await stack.up();
            // touch -d "1 hour ago": same size, same bytes; only the mtime says someone was there.
            const old = fs.statSync(remote);
            fs.utimesSync(remote, old.atime, new Date(old.mtimeMs - 3600 * 1000));
            overwriteMiddle(local, "e");
            const out = collector();
            const up = await stack.up({ onOutput: out.onOutput });
            assert.ok(bytesSent(up) >= SIZE, `sent ${bytesSent(up)} bytes`);
            assert.strictEqual(sha(remote), sha(local));
            assert.ok(out.text().includes(`${remote}: sent whole (${remote} was modified on the host after the last deployment (size ${SIZE}, mtime `), out.text());
        });
    });

    it("reports progress (files, MB, MB/s) and a summary of what was sent in the pulumi up output", async () => {
        for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(work, "src", `small-${i}.txt`), `file ${i}\n`);
        await withStack(backend, opts(sshd, { PULUMI_DELTA_PROGRESS_INTERVAL_MS: "50" }), async (stack) => {
            const out = collector();
            const up = await stack.up({ onOutput: out.onOutput });
            const text = out.text();
            const progress = [...text.matchAll(/site: (\d+)\/21 files, (\d+\.\d)\/(\d+\.\d) MB sent, (\d+\.\d) MB\/s/g)];
            assert.ok(progress.length >= 1, `no progress line in:\n${text}`);
            // Streamed while the resource was being created, not only repeated under Diagnostics at the end.
            assert.ok(progress[0].index! < text.indexOf("Diagnostics:"), `progress only after the update:\n${text}`);
            for (const m of progress) {
                assert.ok(Number(m[1]) <= 21);
                assert.strictEqual(m[3], ((SIZE + 20 * "file 0\n".length + 10 * 1) / 1e6).toFixed(1));
                assert.ok(Number(m[2]) <= Number(m[3]));
            }
            assert.strictEqual(bytesSent(up), SIZE + 20 * "file 0\n".length + 10);
            assert.ok(text.includes(`site: sent 21 files (${bytesSent(up)} bytes), removed 0 → `), `no summary line in:\n${text}`);
        });
    });
});
