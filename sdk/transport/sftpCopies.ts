import type { Client, SFTPWrapper } from "ssh2";
import { failFastWhenClosed } from "./sftpLink";
import { OPEN_WRITE_NO_TRUNC, SftpSession, sftpCall, WRITE_SIZE } from "./sftpSession";
import type { ByteRange } from "./types";

// Copies that stay on the host: whole files, and byte ranges by the copy-data extension.

/** Largest single copy-data request: the server's session is busy until it ends (PERF-NOTES). */
const COPY_RANGE_MAX = 64 * 1024 * 1024;

/** A second SFTP session for copy-data, which blocks the session it runs on: opened on first use, a closed one reopened. */
export class CopySession {
    private session?: Promise<SFTPWrapper>;

    constructor(private readonly client: Client) {}

    get(): Promise<SFTPWrapper> {
        if (!this.session) {
            const opening = new Promise<SFTPWrapper>((resolve, reject) => this.client.sftp((err, s) => (err ? reject(err) : resolve(failFastWhenClosed(s)))));
            this.session = opening;
            opening.then(
                (s) => s.once("close", () => {
                    if (this.session === opening) this.session = undefined;
                }),
                () => {
                    if (this.session === opening) this.session = undefined;
                },
            );
        }
        return this.session;
    }

    async close(): Promise<void> {
        const copy = this.session;
        this.session = undefined;
        if (copy) (await copy.catch(() => undefined))?.end();
    }
}

export async function copyFile(s: SftpSession, from: string, to: string): Promise<void> {
    try {
        const st = await sftpCall<import("ssh2").Stats>((cb) => s.sftp.stat(from, cb));
        const src = await sftpCall<Buffer>((cb) => s.sftp.open(from, "r", cb));
        const dst = await sftpCall<Buffer>((cb) => s.sftp.open(to, "w", { mode: st.mode & 0o7777 }, cb));
        try {
            if (s.hasExtension("copy-data")) {
                await sftpCall<void>((cb) => s.sftp.ext_copy_data(src, 0, 0, dst, 0, cb));
            } else {
                const buf = Buffer.allocUnsafe(WRITE_SIZE);
                for (let pos = 0; pos < st.size; ) {
                    const n = await sftpCall<number>((cb) => s.sftp.read(src, buf, 0, WRITE_SIZE, pos, cb));
                    if (n === 0) break;
                    await sftpCall<void>((cb) => s.sftp.write(dst, buf, 0, n, pos, cb));
                    pos += n;
                }
            }
            await sftpCall<void>((cb) => s.sftp.fchmod(dst, st.mode & 0o7777, cb));
        } finally {
            await sftpCall<void>((cb) => s.sftp.close(src, cb)).catch(() => undefined);
            await sftpCall<void>((cb) => s.sftp.close(dst, cb)).catch(() => undefined);
        }
    } catch (err) {
        s.fail("copy", `${from} to ${to}`, err);
    }
}

export async function copyRanges(s: SftpSession, copies: CopySession, from: string, to: string, ranges: readonly ByteRange[]): Promise<void> {
    if (!s.hasExtension("copy-data")) {
        s.fail("copy ranges", `${from} to ${to}`, new Error("the SFTP server lacks the copy-data extension (OpenSSH ≥ 9.0 has it)"));
    }
    try {
        const sftp = await copies.get();
        // Handles belong to the session that opened them: both on the copy session.
        const src = await sftpCall<Buffer>((cb) => sftp.open(from, "r", cb));
        let dst: Buffer | undefined;
        try {
            dst = await sftpCall<Buffer>((cb) => sftp.open(to, OPEN_WRITE_NO_TRUNC, { mode: 0o600 }, cb));
            const d = dst;
            for (const r of ranges) {
                // Length 0 means "to end of file" in copy-data: never send it.
                for (let done = 0; done < r.length; done += COPY_RANGE_MAX) {
                    const n = Math.min(COPY_RANGE_MAX, r.length - done);
                    await sftpCall<void>((cb) => sftp.ext_copy_data(src, r.srcOffset + done, n, d, r.dstOffset + done, cb));
                }
            }
        } finally {
            await sftpCall<void>((cb) => sftp.close(src, cb)).catch(() => undefined);
            if (dst) await sftpCall<void>((cb) => sftp.close(dst!, cb)).catch(() => undefined);
        }
    } catch (err) {
        s.fail("copy ranges", `${from} to ${to}`, err);
    }
}
