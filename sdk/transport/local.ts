import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AccountIdCache } from "./accountIds";
import { ByteRange, ExecOptions, ExecResult, FsSpace, MtimeItem, RemoteStat, Transport, TransportError, UploadResult, WriteRangesResult } from "./types";

const COPY_BUFFER = 1024 * 1024;

function kindOf(st: fs.Stats): RemoteStat["kind"] {
    if (st.isFile()) return "file";
    if (st.isDirectory()) return "dir";
    if (st.isSymbolicLink()) return "symlink";
    return "other";
}

/**
 * Copies ranges of `from` into `to` in 1 MiB blocks (Node has no
 * copy_file_range, and fs.copyFile copies whole files only). `to` is
 * created if missing and never truncated. Returns the bytes copied.
 */
async function copyBetween(from: string, to: string, ranges: readonly ByteRange[], mode: number, onBytes?: (n: number) => void): Promise<number> {
    const buf = Buffer.allocUnsafe(COPY_BUFFER);
    let total = 0;
    let src: fs.promises.FileHandle | undefined;
    let dst: fs.promises.FileHandle | undefined;
    try {
        src = await fs.promises.open(from, "r");
        // O_WRONLY | O_CREAT without O_TRUNC: other ranges may already be in place.
        dst = await fs.promises.open(to, fs.constants.O_WRONLY | fs.constants.O_CREAT, mode);
        for (const r of ranges) {
            for (let done = 0; done < r.length; ) {
                const want = Math.min(buf.length, r.length - done);
                const { bytesRead } = await src.read(buf, 0, want, r.srcOffset + done);
                if (bytesRead === 0) throw new Error(`${from} ends before offset ${r.srcOffset + r.length}`);
                await dst.write(buf, 0, bytesRead, r.dstOffset + done);
                done += bytesRead;
                total += bytesRead;
                onBytes?.(bytesRead);
            }
        }
    } finally {
        await src?.close();
        await dst?.close();
    }
    return total;
}

/** The machine that runs Pulumi, through plain fs calls. */
export class LocalTransport implements Transport {
    readonly host = "local";
    /** Owner and group names, resolved once. */
    private readonly accountIds = new AccountIdCache((command) => this.exec(command));

    private fail(verb: string, p: string, err: unknown): never {
        const e = err as NodeJS.ErrnoException;
        throw new TransportError(verb, p, this.host, e.message ?? String(err), e.code);
    }

    async homeDir(): Promise<string> {
        return os.homedir();
    }

    async isRoot(): Promise<boolean> {
        return typeof process.getuid === "function" && process.getuid() === 0;
    }

    async stat(p: string): Promise<RemoteStat | undefined> {
        try {
            const st = await fs.promises.lstat(p);
            return { kind: kindOf(st), mode: st.mode & 0o7777, size: st.size, mtime: Math.floor(st.mtimeMs / 1000) };
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR") {
                return undefined;
            }
            this.fail("stat", p, err);
        }
    }

    async mkdirp(p: string, mode = 0o755): Promise<string[]> {
        const missing: string[] = [];
        for (let dir = p; ; dir = path.dirname(dir)) {
            const st = await this.stat(dir);
            if (st) {
                if (st.kind !== "dir") this.fail("create directory", p, new Error(`${dir} exists and is not a directory`));
                break;
            }
            missing.unshift(dir);
            if (dir === path.dirname(dir)) break;
        }
        for (const dir of missing) {
            try {
                await fs.promises.mkdir(dir, { mode });
                await fs.promises.chmod(dir, mode);
            } catch (err) {
                if ((err as NodeJS.ErrnoException).code !== "EEXIST") this.fail("create directory", dir, err);
            }
        }
        return missing;
    }

    async readdir(p: string): Promise<string[]> {
        try {
            return await fs.promises.readdir(p);
        } catch (err) {
            this.fail("list", p, err);
        }
    }

    async readFile(p: string): Promise<Buffer> {
        try {
            return await fs.promises.readFile(p);
        } catch (err) {
            this.fail("read", p, err);
        }
    }

    async createExclusive(p: string, data: string): Promise<boolean> {
        try {
            await fs.promises.writeFile(p, data, { flag: "wx", mode: 0o600 });
            return true;
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
            this.fail("create", p, err);
        }
    }

    async writeFile(p: string, data: string | Buffer, mode = 0o600): Promise<void> {
        try {
            await fs.promises.writeFile(p, data, { mode });
            await fs.promises.chmod(p, mode);
        } catch (err) {
            this.fail("write", p, err);
        }
    }

    async upload(localPath: string, remotePath: string, mode: number, onBytes?: (n: number) => void): Promise<UploadResult> {
        const hash = crypto.createHash("sha256");
        const buf = Buffer.allocUnsafe(COPY_BUFFER);
        let bytes = 0;
        let src: fs.promises.FileHandle | undefined;
        let dst: fs.promises.FileHandle | undefined;
        try {
            src = await fs.promises.open(localPath, "r");
            dst = await fs.promises.open(remotePath, "w", mode);
            for (;;) {
                const { bytesRead } = await src.read(buf, 0, buf.length, null);
                if (bytesRead === 0) break;
                hash.update(buf.subarray(0, bytesRead));
                await dst.write(buf, 0, bytesRead);
                bytes += bytesRead;
                onBytes?.(bytesRead);
            }
            await dst.chmod(mode);
        } catch (err) {
            this.fail("upload", `${localPath} to ${remotePath}`, err);
        } finally {
            await src?.close();
            await dst?.close();
        }
        return { bytes, sha256: hash.digest("hex") };
    }

    async rename(from: string, to: string): Promise<void> {
        try {
            await fs.promises.rename(from, to);
        } catch (err) {
            this.fail("rename", `${from} to ${to}`, err);
        }
    }

    async link(existing: string, newPath: string): Promise<void> {
        try {
            await fs.promises.link(existing, newPath);
        } catch (err) {
            this.fail("link", `${existing} to ${newPath}`, err);
        }
    }

    async copyFile(from: string, to: string): Promise<void> {
        try {
            // FICLONE where the filesystem supports it; a plain copy otherwise.
            await fs.promises.copyFile(from, to, fs.constants.COPYFILE_FICLONE);
            const st = await fs.promises.stat(from);
            await fs.promises.chmod(to, st.mode & 0o7777);
        } catch (err) {
            this.fail("copy", `${from} to ${to}`, err);
        }
    }

    canCopyRanges(): boolean {
        return true;
    }

    async copyRanges(from: string, to: string, ranges: readonly ByteRange[]): Promise<void> {
        try {
            await copyBetween(from, to, ranges, 0o600);
        } catch (err) {
            this.fail("copy ranges", `${from} to ${to}`, err);
        }
    }

    async writeRanges(localPath: string, remotePath: string, ranges: readonly ByteRange[], onBytes?: (n: number) => void): Promise<WriteRangesResult> {
        try {
            return { bytes: await copyBetween(localPath, remotePath, ranges, 0o600, onBytes) };
        } catch (err) {
            this.fail("upload ranges", `${localPath} to ${remotePath}`, err);
        }
    }

    async sha256(p: string): Promise<string | undefined> {
        const hash = crypto.createHash("sha256");
        const buf = Buffer.allocUnsafe(COPY_BUFFER);
        let fh: fs.promises.FileHandle | undefined;
        try {
            fh = await fs.promises.open(p, "r");
            for (;;) {
                const { bytesRead } = await fh.read(buf, 0, buf.length, null);
                if (bytesRead === 0) break;
                hash.update(buf.subarray(0, bytesRead));
            }
        } catch (err) {
            this.fail("hash", p, err);
        } finally {
            await fh?.close();
        }
        return hash.digest("hex");
    }

    async symlink(target: string, p: string): Promise<void> {
        try {
            await fs.promises.symlink(target, p);
        } catch (err) {
            this.fail("create symlink", p, err);
        }
    }

    async readlink(p: string): Promise<string> {
        try {
            return await fs.promises.readlink(p);
        } catch (err) {
            this.fail("read symlink", p, err);
        }
    }

    async setMtimes(items: readonly MtimeItem[]): Promise<void> {
        const now = Date.now() / 1000;
        for (const it of items) {
            try {
                // lutimes sets a link's own times and a file's or folder's as utimes would.
                await fs.promises.lutimes(it.path, now, it.mtime);
            } catch (err) {
                this.fail("set the mtime of", it.path, err);
            }
        }
    }

    async chmod(p: string, mode: number): Promise<void> {
        try {
            await fs.promises.chmod(p, mode);
        } catch (err) {
            this.fail("chmod", p, err);
        }
    }

    /** Names resolve through the system's `id` and `getent` (NSS, LDAP users included), once; then each file by number. */
    async chown(p: string, owner: string | undefined, group: string | undefined): Promise<void> {
        if (owner === undefined && group === undefined) return;
        try {
            const { uid, gid } = await this.accountIds.resolve(owner, group);
            // -1 leaves that part as it is.
            await fs.promises.lchown(p, uid ?? -1, gid ?? -1);
        } catch (err) {
            this.fail("set the owner of", p, err);
        }
    }

    async unlink(p: string): Promise<void> {
        try {
            await fs.promises.unlink(p);
        } catch (err) {
            this.fail("remove", p, err);
        }
    }

    async rmdir(p: string): Promise<void> {
        try {
            await fs.promises.rmdir(p);
        } catch (err) {
            this.fail("remove directory", p, err);
        }
    }

    async removeTree(p: string): Promise<void> {
        try {
            await fs.promises.rm(p, { recursive: true, force: true });
        } catch (err) {
            this.fail("remove", p, err);
        }
    }

    async space(p: string): Promise<FsSpace> {
        try {
            const [sfs, st] = await Promise.all([fs.promises.statfs(p), fs.promises.stat(p)]);
            return { availableBytes: sfs.bavail * sfs.bsize, fsid: String(st.dev) };
        } catch (err) {
            this.fail("read free space of", p, err);
        }
    }

    exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
        return new Promise((resolve, reject) => {
            // detached: a timeout kills the whole process group, not just the shell.
            const child = spawn("/bin/sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"], detached: true });
            const out: Buffer[] = [];
            const err: Buffer[] = [];
            let timedOut = false;
            const timer = options.timeoutMs
                ? setTimeout(() => {
                      timedOut = true;
                      try {
                          process.kill(-child.pid!, "SIGKILL");
                      } catch {
                          child.kill("SIGKILL");
                      }
                  }, options.timeoutMs)
                : undefined;
            child.stdout.on("data", (d: Buffer) => out.push(d));
            child.stderr.on("data", (d: Buffer) => err.push(d));
            child.on("error", (e) => {
                if (timer) clearTimeout(timer);
                reject(new TransportError("run", command, this.host, e.message));
            });
            child.on("close", (code) => {
                if (timer) clearTimeout(timer);
                resolve({
                    code,
                    stdout: Buffer.concat(out).toString("utf8"),
                    stderr: Buffer.concat(err).toString("utf8"),
                    ...(timedOut ? { timedOut } : {}),
                });
            });
            child.stdin.on("error", () => undefined);
            child.stdin.end(options.stdin ?? "");
        });
    }

    async close(): Promise<void> {
        // Nothing to release.
    }
}
