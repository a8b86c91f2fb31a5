import type { AccountIdCache } from "./accountIds";
import { touchScript } from "./shell";
import { SftpSession, sftpCall } from "./sftpSession";
import type { ExecResult, FsSpace, MtimeItem } from "./types";

// Attributes over SFTP: modes, mtimes, owners, and the free space of a filesystem.

/** setstat requests in flight for mtimes. */
const MTIMES_IN_FLIGHT = 64;
/** Links per `touch -h` command when the server lacks lsetstat. */
const TOUCH_BATCH = 500;

export async function chmod(s: SftpSession, p: string, mode: number): Promise<void> {
    await sftpCall<void>((cb) => s.sftp.chmod(p, mode, cb)).catch((e) => s.fail("chmod", p, e));
}

/**
 * Files and folders by SFTP setstat, many in flight. Links: setstat
 * follows them, so by `lsetstat@openssh.com` (OpenSSH 8.0 and later) or,
 * without it, by `touch -h` in one shell command per batch.
 */
export async function setMtimes(s: SftpSession, run: (command: string) => Promise<ExecResult>, items: readonly MtimeItem[]): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const lset = s.hasExtension("lsetstat@openssh.com");
    const direct = items.filter((it) => !it.symlink || lset);
    const touched = items.filter((it) => it.symlink && !lset);
    let next = 0;
    const worker = async () => {
        while (next < direct.length) {
            const it = direct[next++];
            const attrs = { atime: now, mtime: it.mtime };
            await sftpCall<void>((cb) => (it.symlink ? s.sftp.ext_openssh_lsetstat(it.path, attrs, cb) : s.sftp.setstat(it.path, attrs, cb))).catch((e) =>
                s.fail("set the mtime of", it.path, e),
            );
        }
    };
    await Promise.all(Array.from({ length: Math.min(MTIMES_IN_FLIGHT, direct.length) }, worker));
    for (let i = 0; i < touched.length; i += TOUCH_BATCH) {
        const batch = touched.slice(i, i + TOUCH_BATCH);
        const r = await run(touchScript(batch));
        if (r.code !== 0) s.fail("set the mtime of", batch.length === 1 ? batch[0].path : `${batch[0].path} and ${batch.length - 1} more`, (r.stderr || r.stdout).trim() || `touch exited with code ${r.code}`);
    }
}

/** Through `chown` on the host: SFTP's setstat takes numeric ids only, and names must resolve there. */
export async function chown(s: SftpSession, ids: AccountIdCache, p: string, owner: string | undefined, group: string | undefined): Promise<void> {
    if (owner === undefined && group === undefined) return;
    try {
        let { uid, gid } = await ids.resolve(owner, group);
        // SFTP sets uid and gid together: the part not asked for keeps the file's own.
        if (uid === undefined || gid === undefined) {
            const st = await sftpCall<import("ssh2").Stats>((cb) => s.sftp.lstat(p, cb));
            uid ??= st.uid;
            gid ??= st.gid;
        }
        const [u, g] = [uid, gid];
        await sftpCall<void>((cb) => s.sftp.chown(p, u, g, cb));
    } catch (err) {
        s.fail("set the owner of", p, err);
    }
}

export async function space(s: SftpSession, p: string): Promise<FsSpace> {
    try {
        if (!s.hasExtension("statvfs@openssh.com")) return { availableBytes: Number.MAX_SAFE_INTEGER };
        // ssh2 names the statvfs fields as the C struct does (f_bavail, f_frsize, f_sid).
        const v = await sftpCall<{ f_bavail: number; f_frsize: number; f_sid: number | bigint }>((cb) => s.sftp.ext_openssh_statvfs(p, cb));
        const fsid = String(v.f_sid);
        // Some filesystems report fsid 0: that tells nothing.
        return { availableBytes: Number(v.f_bavail) * Number(v.f_frsize), fsid: fsid === "0" || fsid === "undefined" ? undefined : fsid };
    } catch (err) {
        s.fail("read free space of", p, err);
    }
}
