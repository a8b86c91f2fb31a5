import type { Client, SFTPWrapper } from "ssh2";
import { ConnectionInputs, DEFAULT_USER, describeConnection } from "../connection";
import { AccountIdCache } from "./accountIds";
import { HostHasher } from "./hostHasher";
import { hashManyByExec, parseSha256, sha256Script } from "./shell";
import { chmod, chown, setMtimes, space } from "./sftpAttributes";
import { copyFile, copyRanges, CopySession } from "./sftpCopies";
import { failFastClient, failFastWhenClosed } from "./sftpLink";
import { link, mkdirp, readlink, removeTree, rename, rmdir, symlink, unlink } from "./sftpPaths";
import { readdir, readFile, stat } from "./sftpReads";
import { SftpSession, sftpCall } from "./sftpSession";
import { createExclusive, upload, writeFile, writeRanges } from "./sftpWrites";
import { dialChain } from "./sshDial";
import { execOver } from "./sshExec";
import { ByteRange, ExecOptions, ExecResult, FsSpace, MtimeItem, RemoteStat, Transport, TransportError, UploadResult, WriteRangesResult } from "./types";

/** Opens an SSH connection (through `proxy` when given) and its SFTP session. */
export async function connectSsh(c: ConnectionInputs): Promise<SshTransport> {
    const { client, hops } = await dialChain(c, "connection");
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s)))).catch((e: Error) => {
        client.end();
        for (const h of [...hops].reverse()) h.end();
        throw new TransportError("open an SFTP session with", describeConnection(c), "", e.message);
    });
    return new SshTransport(c, failFastClient(client), failFastWhenClosed(sftp), hops);
}

/**
 * The Transport over one SSH connection: file operations by SFTP (the
 * sftp*.ts modules), commands by exec, hashes by a shell kept open.
 */
export class SshTransport implements Transport {
    readonly host: string;
    private home?: string;
    private readonly session: SftpSession;
    private readonly copies: CopySession;
    /** Owner and group names, resolved on the host once. */
    private readonly accountIds = new AccountIdCache((command) => this.exec(command));
    /** A hashing shell opened ahead of need (see prepareSha256). */
    private hasher?: HostHasher;

    constructor(
        private readonly conn: ConnectionInputs,
        private readonly client: Client,
        private readonly sftp: SFTPWrapper,
        /** Jump hosts the connection runs through, outermost first. */
        private readonly hops: Client[] = [],
    ) {
        this.host = describeConnection(conn);
        this.session = new SftpSession(sftp, this.host);
        this.copies = new CopySession(client);
    }

    /** Whether the server offers an SFTP extension (e.g. "copy-data"). */
    hasExtension(name: string): boolean {
        return this.session.hasExtension(name);
    }

    async homeDir(): Promise<string> {
        if (!this.home) this.home = await sftpCall<string>((cb) => this.sftp.realpath(".", cb)).catch((e) => this.session.fail("resolve the home directory", "~", e));
        return this.home;
    }

    async isRoot(): Promise<boolean> {
        return (this.conn.user ?? DEFAULT_USER) === "root";
    }

    stat(p: string): Promise<RemoteStat | undefined> {
        return stat(this.session, p);
    }

    mkdirp(p: string, mode?: number): Promise<string[]> {
        return mkdirp(this.session, p, mode);
    }

    readdir(p: string): Promise<string[]> {
        return readdir(this.session, p);
    }

    readFile(p: string): Promise<Buffer> {
        return readFile(this.session, p);
    }

    createExclusive(p: string, data: string): Promise<boolean> {
        return createExclusive(this.session, p, data);
    }

    writeFile(p: string, data: string | Buffer, mode?: number): Promise<void> {
        return writeFile(this.session, p, data, mode);
    }

    upload(localPath: string, remotePath: string, mode: number, onBytes?: (n: number) => void): Promise<UploadResult> {
        return upload(this.session, localPath, remotePath, mode, onBytes);
    }

    rename(from: string, to: string): Promise<void> {
        return rename(this.session, from, to);
    }

    link(existing: string, newPath: string): Promise<void> {
        return link(this.session, existing, newPath);
    }

    copyFile(from: string, to: string): Promise<void> {
        return copyFile(this.session, from, to);
    }

    canCopyRanges(): boolean {
        return this.hasExtension("copy-data");
    }

    copyRanges(from: string, to: string, ranges: readonly ByteRange[]): Promise<void> {
        return copyRanges(this.session, this.copies, from, to, ranges);
    }

    writeRanges(localPath: string, remotePath: string, ranges: readonly ByteRange[], onBytes?: (n: number) => void): Promise<WriteRangesResult> {
        return writeRanges(this.session, localPath, remotePath, ranges, onBytes);
    }

    /**
     * Hashes on the host with `openssl dgst` (uses the CPU's SHA
     * instructions: ≈ 1.6 GB/s vs 0.4 GB/s for `sha256sum`), else
     * `sha256sum`; undefined when the host has neither (exit 127 below), so
     * the caller can fall back to a whole-file upload.
     */
    prepareSha256(): void {
        this.hasher ??= new HostHasher(this.client);
    }

    async sha256(p: string): Promise<string | undefined> {
        if (this.hasher) {
            const a = await this.hasher.hash(p);
            if (a.kind === "hash") return a.hex;
            if (a.kind === "no-tool") return undefined;
            if (a.kind === "failed") this.session.fail("hash", p, new Error(a.message));
            // unavailable: one exec instead.
        }
        const r = await this.exec(sha256Script(p));
        if (r.code === 127) return undefined;
        const hex = parseSha256(r.stdout);
        if (r.code !== 0 || !hex) this.session.fail("hash", p, new Error(r.stderr.trim() || `exit code ${r.code}, output ${JSON.stringify(r.stdout.slice(0, 200))}`));
        return hex;
    }

    async sha256Many(paths: readonly string[]): Promise<Map<string, string>> {
        return hashManyByExec(this, paths);
    }

    chmod(p: string, mode: number): Promise<void> {
        return chmod(this.session, p, mode);
    }

    symlink(target: string, p: string): Promise<void> {
        return symlink(this.session, target, p);
    }

    readlink(p: string): Promise<string> {
        return readlink(this.session, p);
    }

    setMtimes(items: readonly MtimeItem[]): Promise<void> {
        return setMtimes(this.session, (command) => this.exec(command), items);
    }

    chown(p: string, owner: string | undefined, group: string | undefined): Promise<void> {
        return chown(this.session, this.accountIds, p, owner, group);
    }

    unlink(p: string): Promise<void> {
        return unlink(this.session, p);
    }

    rmdir(p: string): Promise<void> {
        return rmdir(this.session, p);
    }

    removeTree(p: string): Promise<void> {
        return removeTree(this.session, p);
    }

    space(p: string): Promise<FsSpace> {
        return space(this.session, p);
    }

    exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
        return execOver(this.client, this.host, command, options);
    }

    async close(): Promise<void> {
        await this.copies.close();
        this.hasher?.close();
        this.sftp.end();
        this.client.end();
        for (const h of [...this.hops].reverse()) h.end();
    }
}
