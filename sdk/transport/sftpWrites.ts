import * as crypto from "crypto";
import * as fs from "fs";
import { stat } from "./sftpReads";
import { OPEN_WRITE_NO_TRUNC, SftpSession, sftpCall, WRITE_SIZE } from "./sftpSession";
import type { ByteRange, UploadResult, WriteRangesResult } from "./types";
import { WriteWindow } from "./writeWindow";

// Writes over SFTP: small files in one go, uploads hashed as they are sent, byte ranges.

/** Files up to this size are read whole and sent in one burst of requests. */
const SMALL_UPLOAD = 1024 * 1024;

export async function createExclusive(s: SftpSession, p: string, data: string): Promise<boolean> {
    let handle: Buffer;
    try {
        handle = await sftpCall<Buffer>((cb) => s.sftp.open(p, "wx", { mode: 0o600 }, cb));
    } catch (err) {
        // SFTP reports O_EXCL refusals as a generic failure: look before blaming.
        if (await stat(s, p)) return false;
        s.fail("create", p, err);
    }
    try {
        const buf = Buffer.from(data);
        await sftpCall<void>((cb) => s.sftp.write(handle, buf, 0, buf.length, 0, cb));
    } finally {
        await sftpCall<void>((cb) => s.sftp.close(handle, cb)).catch(() => undefined);
    }
    return true;
}

export async function writeFile(s: SftpSession, p: string, data: string | Buffer, mode = 0o600): Promise<void> {
    try {
        const handle = await sftpCall<Buffer>((cb) => s.sftp.open(p, "w", { mode }, cb));
        const buf = typeof data === "string" ? Buffer.from(data) : data;
        try {
            for (let off = 0; off < buf.length; off += WRITE_SIZE) {
                const n = Math.min(WRITE_SIZE, buf.length - off);
                await sftpCall<void>((cb) => s.sftp.write(handle, buf, off, n, off, cb));
            }
            await sftpCall<void>((cb) => s.sftp.fchmod(handle, mode, cb));
        } finally {
            await sftpCall<void>((cb) => s.sftp.close(handle, cb));
        }
    } catch (err) {
        s.fail("write", p, await s.explained(p, err));
    }
}

export async function upload(s: SftpSession, localPath: string, remotePath: string, mode: number, onBytes?: (n: number) => void): Promise<UploadResult> {
    try {
        const size = (await fs.promises.stat(localPath)).size;
        return size <= SMALL_UPLOAD ? await uploadSmall(s, localPath, remotePath, mode, onBytes) : await uploadStream(s, localPath, remotePath, mode, onBytes);
    } catch (err) {
        s.fail("upload", `${localPath} to ${remotePath}`, await s.explained(remotePath, err));
    }
}

/**
 * A small file in two round trips: open, then every write, the chmod and
 * the close sent together (the server answers requests in order).
 */
async function uploadSmall(s: SftpSession, localPath: string, remotePath: string, mode: number, onBytes?: (n: number) => void): Promise<UploadResult> {
    const data = fs.readFileSync(localPath);
    const sha256 = crypto.createHash("sha256").update(data).digest("hex");
    const handle = await sftpCall<Buffer>((cb) => s.sftp.open(remotePath, "w", { mode }, cb));
    const pending: Promise<void>[] = [];
    for (let off = 0; off < data.length; off += WRITE_SIZE) {
        const n = Math.min(WRITE_SIZE, data.length - off);
        const at = off;
        pending.push(sftpCall<void>((cb) => s.sftp.write(handle, data, at, n, at, cb)));
    }
    // The server's umask applies at open; set the mode the manifest says.
    pending.push(sftpCall<void>((cb) => s.sftp.fchmod(handle, mode, cb)));
    const closed = sftpCall<void>((cb) => s.sftp.close(handle, cb));
    const results = await Promise.allSettled([...pending, closed]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    onBytes?.(data.length);
    return { bytes: data.length, sha256 };
}

/** A large file streamed with several writes in flight, never whole in memory. */
async function uploadStream(s: SftpSession, localPath: string, remotePath: string, mode: number, onBytes?: (n: number) => void): Promise<UploadResult> {
    const hash = crypto.createHash("sha256");
    let bytes = 0;
    let local: fs.promises.FileHandle | undefined;
    let handle: Buffer | undefined;
    try {
        local = await fs.promises.open(localPath, "r");
        handle = await sftpCall<Buffer>((cb) => s.sftp.open(remotePath, "w", { mode }, cb));
        const window = new WriteWindow(s.sftp, handle, onBytes);
        for (let pos = 0; ; ) {
            const buf = Buffer.allocUnsafe(WRITE_SIZE);
            const { bytesRead } = await local.read(buf, 0, WRITE_SIZE, null);
            if (bytesRead === 0) break;
            hash.update(buf.subarray(0, bytesRead));
            await window.write(buf, bytesRead, pos);
            pos += bytesRead;
        }
        bytes = await window.drain();
        await sftpCall<void>((cb) => s.sftp.fchmod(handle!, mode, cb));
    } finally {
        await local?.close();
        if (handle) await sftpCall<void>((cb) => s.sftp.close(handle!, cb)).catch(() => undefined);
    }
    return { bytes, sha256: hash.digest("hex") };
}

export async function writeRanges(s: SftpSession, localPath: string, remotePath: string, ranges: readonly ByteRange[], onBytes?: (n: number) => void): Promise<WriteRangesResult> {
    let bytes = 0;
    let local: fs.promises.FileHandle | undefined;
    let handle: Buffer | undefined;
    try {
        local = await fs.promises.open(localPath, "r");
        handle = await sftpCall<Buffer>((cb) => s.sftp.open(remotePath, OPEN_WRITE_NO_TRUNC, { mode: 0o600 }, cb));
        const window = new WriteWindow(s.sftp, handle, onBytes);
        for (const r of ranges) {
            for (let done = 0; done < r.length; ) {
                const want = Math.min(WRITE_SIZE, r.length - done);
                // A fresh buffer per write: it stays referenced until the server answers.
                const buf = Buffer.allocUnsafe(want);
                const { bytesRead } = await local.read(buf, 0, want, r.srcOffset + done);
                if (bytesRead === 0) throw new Error(`${localPath} ends before offset ${r.srcOffset + r.length}`);
                await window.write(buf, bytesRead, r.dstOffset + done);
                done += bytesRead;
            }
        }
        bytes = await window.drain();
    } catch (err) {
        s.fail("upload ranges", `${localPath} to ${remotePath}`, err);
    } finally {
        await local?.close().catch(() => undefined);
        if (handle) await sftpCall<void>((cb) => s.sftp.close(handle!, cb)).catch(() => undefined);
    }
    return { bytes };
}
