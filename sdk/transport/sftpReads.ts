import { SSH_FX_EOF } from "./sftpFailure";
import { isNoSuchFile, SftpSession, sftpCall, WRITE_SIZE } from "./sftpSession";
import type { RemoteStat } from "./types";

// Reads over SFTP: what is at a path, a folder's names, a file's bytes.

export async function stat(s: SftpSession, p: string): Promise<RemoteStat | undefined> {
    try {
        const st = await sftpCall<import("ssh2").Stats>((cb) => s.sftp.lstat(p, cb));
        const kind = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
        return { kind, mode: st.mode & 0o7777, size: st.size, mtime: st.mtime };
    } catch (err) {
        if (isNoSuchFile(err)) return undefined;
        s.fail("stat", p, err);
    }
}

export async function readdir(s: SftpSession, p: string): Promise<string[]> {
    try {
        // Not ssh2's readdir of a path: on an error it closes the handle and waits for that reply, which never comes once the link is lost.
        const handle = await sftpCall<Buffer>((cb) => s.sftp.opendir(p, cb));
        const names: string[] = [];
        try {
            for (;;) {
                const list = await sftpCall<import("ssh2").FileEntry[] | false>((cb) => s.sftp.readdir(handle, cb)).catch((e: { code?: number }) => {
                    if (e.code === SSH_FX_EOF) return false as const;
                    throw e;
                });
                if (!list) break;
                for (const e of list) names.push(e.filename);
            }
        } finally {
            await sftpCall<void>((cb) => s.sftp.close(handle, cb)).catch(() => undefined);
        }
        return names;
    } catch (err) {
        s.fail("list", p, err);
    }
}

export async function readFile(s: SftpSession, p: string): Promise<Buffer> {
    try {
        // Not ssh2's readFile: on a read error it closes the handle and waits for that reply, which never comes once the link is lost.
        const handle = await sftpCall<Buffer>((cb) => s.sftp.open(p, "r", cb));
        const parts: Buffer[] = [];
        try {
            for (let pos = 0; ; ) {
                const buf = Buffer.allocUnsafe(WRITE_SIZE);
                const n = await sftpCall<number>((cb) => s.sftp.read(handle, buf, 0, WRITE_SIZE, pos, cb)).catch((e: { code?: number }) => {
                    if (e.code === SSH_FX_EOF) return 0;
                    throw e;
                });
                if (n === 0) break;
                parts.push(buf.subarray(0, n));
                pos += n;
            }
        } finally {
            await sftpCall<void>((cb) => s.sftp.close(handle, cb)).catch(() => undefined);
        }
        return Buffer.concat(parts);
    } catch (err) {
        s.fail("read", p, err);
    }
}
