import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { applyPatch, ApplyPatchResult, planPatch } from "../../sdk/apply";
import { chunkFileSync } from "../../sdk/manifest";
import { connectSsh, LocalTransport, Transport } from "../../sdk/transport";
import { Sshd, startSshd } from "../helpers/sshd";
import { tempDir } from "../helpers/tree";

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;

function sha256Of(file: string): string {
    const h = crypto.createHash("sha256");
    const fd = fs.openSync(file, "r");
    try {
        const buf = Buffer.allocUnsafe(4 * MiB);
        for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
    } finally {
        fs.closeSync(fd);
    }
    return h.digest("hex");
}

/**
 * The transport as is, but counting every content byte it sends (whole-file
 * uploads and ranges), independently of what applyPatch reports; `override`
 * replaces methods to simulate a host without a hashing tool.
 */
function counting(t: Transport, override: Partial<Transport> = {}): { t: Transport; sent: () => number } {
    let sent = 0;
    const proxy = new Proxy(t, {
        get(target, prop, receiver) {
            if (prop in override) return (override as Record<string | symbol, unknown>)[prop];
            const value = Reflect.get(target, prop, receiver);
            if (typeof value !== "function") return value;
            if (prop === "upload") {
                return async (...a: Parameters<Transport["upload"]>) => {
                    const r = await target.upload(...a);
                    sent += r.bytes;
                    return r;
                };
            }
            if (prop === "writeRanges") {
                return async (...a: Parameters<Transport["writeRanges"]>) => {
                    const r = await target.writeRanges(...a);
                    sent += r.bytes;
                    return r;
                };
            }
            return (value as (...a: unknown[]) => unknown).bind(target);
        },
    });
    return { t: proxy, sent: () => sent };
}

interface Scene {
    work: string;
    v1: string;
    v2: string;
    hostOld: string;
    staged: string;
}

/** v1 (64 MiB random) is on the host; v2 is v1 with 1 MiB overwritten in the middle. */
function makeScene(): Scene {
    const work = tempDir("pd-patch-");
    const v1 = path.join(work, "v1.bin");
    const v2 = path.join(work, "v2.bin");
    const data = crypto.randomBytes(SIZE);
    fs.writeFileSync(v1, data);
    crypto.randomFillSync(data, SIZE / 2 + 12345, MiB);
    fs.writeFileSync(v2, data);
    const host = path.join(work, "host");
    fs.mkdirSync(host);
    return { work, v1, v2, hostOld: path.join(host, "media.bin"), staged: path.join(host, ".media.bin.staged") };
}

async function patch(t: Transport, s: Scene): Promise<ApplyPatchResult> {
    const plan = planPatch(chunkFileSync(s.v1), chunkFileSync(s.v2));
    return applyPatch(t, { oldPath: s.hostOld, stagedPath: s.staged, localNewPath: s.v2, plan, expectedSha256: sha256Of(s.v2), mode: 0o640 });
}

for (const kind of ["local", "ssh"] as const) {
    describe(`patching a large file over ${kind}`, function () {
        let sshd: Sshd | undefined;
        let s: Scene;
        let base: Transport;
        before(async () => {
            if (kind === "ssh") sshd = await startSshd();
        });
        after(async () => sshd?.stop());
        beforeEach(async () => {
            s = makeScene();
            base = sshd ? await connectSsh(sshd.connection()) : new LocalTransport();
            await base.upload(s.v1, s.hostOld, 0o644);
        });
        afterEach(async () => {
            await base.close();
            fs.rmSync(s.work, { recursive: true, force: true });
        });

        it("rebuilds a 64 MiB file edited in the middle from host copies plus < 10% uploaded, verified on the host", async () => {
            assert.ok(base.canCopyRanges());
            const { t, sent } = counting(base);
            const r = await patch(t, s);
            assert.strictEqual(r.method, "patch", r.fallbackReason);
            assert.strictEqual(r.bytesUploaded, sent());
            assert.ok(sent() < SIZE / 10, `sent ${sent()} bytes`);
            assert.ok(r.bytesCopied > SIZE - 4 * MiB);
            assert.strictEqual(await base.sha256(s.staged), sha256Of(s.v2));
            assert.strictEqual(sha256Of(s.staged), sha256Of(s.v2));
            assert.strictEqual((await base.stat(s.staged))?.mode, 0o640);
            assert.strictEqual(sha256Of(s.hostOld), sha256Of(s.v1), "the old file is untouched");
        });

        it("hashes on the host whatever the file's name", async () => {
            const odd = path.join(path.dirname(s.hostOld), "it's a $(file) `x`\\n");
            fs.writeFileSync(odd, "hello\n");
            assert.strictEqual(await base.sha256(odd), crypto.createHash("sha256").update("hello\n").digest("hex"));
            await assert.rejects(base.sha256(path.join(s.work, "missing")), /failed to hash .*missing on /);
        });

        it("detects an old file modified on the host and sends the whole file instead", async () => {
            // Same size, different bytes in a range the plan copies: only the hash can tell.
            const fd = fs.openSync(s.hostOld, "r+");
            fs.writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 3 * MiB);
            fs.closeSync(fd);
            const { t, sent } = counting(base);
            const r = await patch(t, s);
            assert.strictEqual(r.method, "upload");
            assert.match(r.fallbackReason ?? "", /hashes to [0-9a-f]{64}, expected/);
            assert.ok(sent() >= SIZE, `sent ${sent()}`);
            assert.strictEqual(sha256Of(s.staged), sha256Of(s.v2));
        });

        it("sends the whole file when the old file's size drifted, or the host cannot hash", async () => {
            fs.truncateSync(s.hostOld, SIZE - 1);
            let r = await patch(base, s);
            assert.strictEqual(r.method, "upload");
            assert.match(r.fallbackReason ?? "", /expected a 67108864-byte file/);
            assert.strictEqual(sha256Of(s.staged), sha256Of(s.v2));

            await base.upload(s.v1, s.hostOld, 0o644);
            fs.rmSync(s.staged);
            r = await patch(counting(base, { sha256: async () => undefined }).t, s);
            assert.strictEqual(r.method, "upload");
            assert.match(r.fallbackReason ?? "", /neither openssl nor sha256sum/);
            assert.strictEqual(sha256Of(s.staged), sha256Of(s.v2));
        });
    });
}

describe("patching over ssh when the server refuses copy-data", function () {
    let sshd: Sshd;
    let s: Scene;
    before(async () => {
        // OpenSSH's -P denies a request by name; the extension may still be advertised.
        sshd = await startSshd({ sftpServer: "/usr/lib/openssh/sftp-server -P copy-data" });
        s = makeScene();
    });
    after(async () => {
        await sshd?.stop();
        fs.rmSync(s.work, { recursive: true, force: true });
    });

    it("falls back to a whole-file upload and still produces the right bytes", async () => {
        const base = await connectSsh(sshd.connection());
        try {
            await base.upload(s.v1, s.hostOld, 0o644);
            const { t, sent } = counting(base);
            const r = await patch(t, s);
            // OpenSSH 9.2 stops advertising a request it denies with -P.
            assert.strictEqual(base.canCopyRanges(), false);
            assert.strictEqual(r.method, "upload");
            assert.match(r.fallbackReason ?? "", /cannot copy file ranges \(no SFTP copy-data\)/);
            assert.strictEqual(r.bytesCopied, 0);
            assert.ok(sent() >= SIZE);
            assert.strictEqual(await base.sha256(s.staged), sha256Of(s.v2));
            assert.strictEqual(sha256Of(s.hostOld), sha256Of(s.v1));
        } finally {
            await base.close();
        }
    });

    it("says why copyRanges cannot work, and a refused copy mid-patch still ends in a whole-file upload", async () => {
        const base = await connectSsh(sshd.connection());
        try {
            await base.upload(s.v1, s.hostOld, 0o644);
            await assert.rejects(
                base.copyRanges(s.hostOld, s.staged, [{ srcOffset: 0, length: 10, dstOffset: 0 }]),
                /^TransportError: failed to copy ranges .* on .*: the SFTP server lacks the copy-data extension/,
            );
            // A server that advertises copy-data but refuses the request: the copy fails while chunks upload.
            const { t, sent } = counting(base, { canCopyRanges: () => true });
            const r = await patch(t, s);
            assert.strictEqual(r.method, "upload");
            assert.match(r.fallbackReason ?? "", /^patching failed: failed to copy ranges/);
            assert.ok(sent() >= SIZE);
            assert.strictEqual(await base.sha256(s.staged), sha256Of(s.v2));
        } finally {
            await base.close();
        }
    });
});
