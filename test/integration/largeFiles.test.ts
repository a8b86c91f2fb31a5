import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { outputValues, StackOptions, testBackend, TestBackend, withStack } from "../helpers/pulumi";
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

    function opts(s: Sshd): StackOptions {
        return {
            config: { host: s.host, port: s.port, user: s.user, hostKey: s.hostKey, source: path.join(work, "src"), destination: path.join(work, "dest"), stateDir: path.join(work, "state") },
            secrets: { privateKey: s.privateKey },
        };
    }

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
            // The patch is built, found wrong by its sha256 on the host, and the file is sent whole.
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
});
