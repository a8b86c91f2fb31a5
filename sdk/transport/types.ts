/** What a host says about one path (never follows a final symlink). */
export interface RemoteStat {
    kind: "file" | "dir" | "symlink" | "other";
    /** Permission bits only (e.g. 0o644). */
    mode: number;
    size: number;
    /** Seconds since the epoch (SFTP carries whole seconds). */
    mtime: number;
}

/** One path whose mtime {@link Transport.setMtimes} sets. */
export interface MtimeItem {
    path: string;
    /** Whole seconds since the epoch. */
    mtime: number;
    /** The path is a symlink: its own mtime is set, never its target's. */
    symlink?: boolean;
}

/** Free room on the filesystem holding a path. */
export interface FsSpace {
    /** Bytes an unprivileged writer may still use. */
    availableBytes: number;
    /** Identifies the filesystem; undefined when the host cannot tell. */
    fsid?: string;
}

export interface ExecResult {
    code: number | null;
    stdout: string;
    stderr: string;
    /** Set when the command ran past its timeout and was killed. */
    timedOut?: boolean;
}

export interface ExecOptions {
    stdin?: string | Buffer;
    timeoutMs?: number;
}

/** Result of sending one local file: what was read while sending it. */
export interface UploadResult {
    bytes: number;
    /** sha256 hex of the bytes sent, so callers can check them against a manifest. */
    sha256: string;
}

/** Bytes `[srcOffset, srcOffset + length)` of one file go to `dstOffset` of another. */
export interface ByteRange {
    srcOffset: number;
    length: number;
    dstOffset: number;
}

/** What {@link Transport.writeRanges} sent. */
export interface WriteRangesResult {
    /** Bytes read from the local file and written to the host. */
    bytes: number;
}

/**
 * The only way the rest of the library touches a host. Paths are absolute
 * POSIX paths on that host. Errors thrown are `TransportError`s whose message
 * reads `failed to <verb> <path> on <host>: <cause>`.
 */
export interface Transport {
    /** For messages: "local" or "user@host:port". */
    readonly host: string;
    /** The login user's home directory on the host. */
    homeDir(): Promise<string>;
    /** True when the session acts as uid 0 on the host. */
    isRoot(): Promise<boolean>;
    stat(path: string): Promise<RemoteStat | undefined>;
    /** Creates a directory and its missing parents; returns the ones it created, outermost first. */
    mkdirp(path: string, mode?: number): Promise<string[]>;
    readdir(path: string): Promise<string[]>;
    readFile(path: string): Promise<Buffer>;
    /** Creates a small file only if nothing is at `path`; false when something already is (locks). */
    createExclusive(path: string, data: string): Promise<boolean>;
    /** Writes a small file in one go (records, journals). */
    writeFile(path: string, data: string | Buffer, mode?: number): Promise<void>;
    /** Streams a local file to the host, hashing what it sends (so callers can check it against the manifest). */
    upload(localPath: string, remotePath: string, mode: number, onBytes?: (n: number) => void): Promise<UploadResult>;
    /** Replaces `to` with `from` atomically (POSIX rename semantics). */
    rename(from: string, to: string): Promise<void>;
    /** Adds a second name for a file; both must be on one filesystem. */
    link(existing: string, newPath: string): Promise<void>;
    /** Copies a file on the host without sending its bytes over the wire when the host can. */
    copyFile(from: string, to: string): Promise<void>;
    chmod(path: string, mode: number): Promise<void>;
    /** Creates a symlink at `path` holding the text `target` (never resolved); fails when something is at `path`. */
    symlink(target: string, path: string): Promise<void>;
    /** The text of the symlink at `path`. */
    readlink(path: string): Promise<string>;
    /**
     * Sets the mtime of each path, never through a final symlink (a symlink
     * item's own time; a file's or folder's directly), many at a time.
     */
    setMtimes(items: readonly MtimeItem[]): Promise<void>;
    /**
     * Sets a path's owner and/or group (names or numeric ids, resolved on
     * the host; a symlink itself, not its target). Throws a TransportError
     * naming the user or group when the host has no such one.
     */
    chown(path: string, owner: string | undefined, group: string | undefined): Promise<void>;
    unlink(path: string): Promise<void>;
    rmdir(path: string): Promise<void>;
    /** Removes a directory tree we own (staging, backups); no error if absent. */
    removeTree(path: string): Promise<void>;
    space(path: string): Promise<FsSpace>;
    /**
     * Whether {@link copyRanges} can copy on the host without sending the
     * bytes (SSH: the server offers the SFTP `copy-data` extension). A server
     * may still refuse the request (OpenSSH `sftp-server -P copy-data`), so
     * callers must also be ready for copyRanges to throw.
     */
    canCopyRanges(): boolean;
    /**
     * Copies byte ranges of the host file `from` into the host file `to`
     * (created if missing, never truncated) without the bytes crossing the
     * wire. Throws a TransportError when the host cannot (see canCopyRanges).
     */
    copyRanges(from: string, to: string, ranges: readonly ByteRange[]): Promise<void>;
    /**
     * Sends byte ranges of a local file into the host file `remotePath`
     * (created with mode 0600 if missing, never truncated, mode of an
     * existing file kept), several writes in flight.
     */
    writeRanges(localPath: string, remotePath: string, ranges: readonly ByteRange[], onBytes?: (n: number) => void): Promise<WriteRangesResult>;
    /**
     * sha256 (lower-case hex) of a file, computed on the host so that no byte
     * crosses the wire. Undefined when the host has no tool for it (SSH:
     * neither `openssl` nor `sha256sum`); callers that must verify a file
     * then fall back to sending it whole, which hashes what it sends.
     */
    sha256(path: string): Promise<string | undefined>;
    /**
     * sha256 of many host files with one command (one round trip, one
     * hashing process for thousands of files). The map holds each path the
     * host could hash; a path missing from it (gone, unreadable, a name the
     * command line cannot carry) is left to {@link sha256}, which hashes it
     * or says why not. Optional: a transport without it is asked per file.
     */
    sha256Many?(paths: readonly string[]): Promise<Map<string, string>>;
    /**
     * A hint that {@link sha256} will be called soon (a patch is starting).
     * SSH opens its hashing shell now, so the shell's start-up overlaps the
     * transfer instead of following it. Optional; no effect elsewhere.
     */
    prepareSha256?(): void;
    /** Runs a command in the host's shell. */
    exec(command: string, options?: ExecOptions): Promise<ExecResult>;
    close(): Promise<void>;
}

export class TransportError extends Error {
    constructor(
        readonly verb: string,
        readonly path: string,
        readonly hostName: string,
        readonly causeText: string,
        readonly code?: string,
    ) {
        // hostName is empty when the path already names the host (connecting).
        super(`failed to ${verb} ${path}${hostName ? ` on ${hostName}` : ""}: ${causeText}`);
        this.name = "TransportError";
    }
}
