import * as path from "path";
import { readdir, stat } from "./sftpReads";
import { SftpSession, sftpCall } from "./sftpSession";

// Names in the host's tree over SFTP: folders, renames, links, removals.

export async function mkdirp(s: SftpSession, p: string, mode = 0o755): Promise<string[]> {
    const missing: string[] = [];
    for (let dir = p; ; dir = path.posix.dirname(dir)) {
        const st = await stat(s, dir);
        if (st) {
            if (st.kind !== "dir") s.fail("create directory", p, new Error(`${dir} exists and is not a directory`));
            break;
        }
        missing.unshift(dir);
        if (dir === path.posix.dirname(dir)) break;
    }
    for (const dir of missing) {
        try {
            await sftpCall<void>((cb) => s.sftp.mkdir(dir, { mode }, cb));
            // The server's umask applies at mkdir; 0700 state folders must stay 0700.
            await sftpCall<void>((cb) => s.sftp.chmod(dir, mode, cb));
        } catch (err) {
            const st = await stat(s, dir);
            if (!st || st.kind !== "dir") s.fail("create directory", dir, await s.explained(dir, err));
        }
    }
    return missing;
}

export async function rename(s: SftpSession, from: string, to: string): Promise<void> {
    try {
        if (s.hasExtension("posix-rename@openssh.com")) await sftpCall<void>((cb) => s.sftp.ext_openssh_rename(from, to, cb));
        else await sftpCall<void>((cb) => s.sftp.rename(from, to, cb));
    } catch (err) {
        s.fail("rename", `${from} to ${to}`, err);
    }
}

export async function link(s: SftpSession, existing: string, newPath: string): Promise<void> {
    try {
        if (!s.hasExtension("hardlink@openssh.com")) throw new Error("the SFTP server lacks the hardlink@openssh.com extension");
        await sftpCall<void>((cb) => s.sftp.ext_openssh_hardlink(existing, newPath, cb));
    } catch (err) {
        s.fail("link", `${existing} to ${newPath}`, err);
    }
}

export async function symlink(s: SftpSession, target: string, p: string): Promise<void> {
    // ssh2 swaps the arguments for OpenSSH's sftp-server, which reads them in the other order.
    await sftpCall<void>((cb) => s.sftp.symlink(target, p, cb)).catch((e) => s.fail("create symlink", p, e));
}

export async function readlink(s: SftpSession, p: string): Promise<string> {
    return sftpCall<string>((cb) => s.sftp.readlink(p, cb)).catch((e) => s.fail("read symlink", p, e));
}

export async function unlink(s: SftpSession, p: string): Promise<void> {
    await sftpCall<void>((cb) => s.sftp.unlink(p, cb)).catch((e) => s.fail("remove", p, e));
}

export async function rmdir(s: SftpSession, p: string): Promise<void> {
    await sftpCall<void>((cb) => s.sftp.rmdir(p, cb)).catch((e) => s.fail("remove directory", p, e));
}

export async function removeTree(s: SftpSession, p: string): Promise<void> {
    const st = await stat(s, p);
    if (!st) return;
    if (st.kind !== "dir") return unlink(s, p);
    const names = await readdir(s, p);
    await Promise.all(names.map((n) => removeTree(s, path.posix.join(p, n))));
    await rmdir(s, p);
}
