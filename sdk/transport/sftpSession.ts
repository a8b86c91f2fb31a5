import * as path from "path";
import type { SFTPWrapper } from "ssh2";
import { fullFilesystemCause, SSH_FX_FAILURE, StatVfs } from "./sftpFailure";
import { TransportError } from "./types";

/** The largest SFTP write OpenSSH's server accepts whole (it advertises 255 KiB). */
export const WRITE_SIZE = 261120;

/** SSH2_FXF_WRITE | SSH2_FXF_CREAT, without TRUNC: ranges land in a file others fill too. */
export const OPEN_WRITE_NO_TRUNC = 0x02 | 0x08;

/** One SFTP request as a promise (ssh2 calls back with the error first). */
export function sftpCall<T>(fn: (cb: (err: Error | undefined | null, v: T) => void) => void): Promise<T> {
    return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

/** SSH_FX_NO_SUCH_FILE. */
export function isNoSuchFile(err: unknown): boolean {
    return (err as { code?: number }).code === 2;
}

/**
 * An SFTP session and the host it reaches: what every SFTP operation needs
 * to make its requests and to name its failures the same way
 * (`failed to <verb> <path> on <host>: <cause>`).
 */
export class SftpSession {
    constructor(
        readonly sftp: SFTPWrapper,
        /** The host as messages name it (user@host:port). */
        readonly host: string,
    ) {}

    fail(verb: string, p: string, err: unknown): never {
        throw new TransportError(verb, p, this.host, (err as Error).message ?? String(err));
    }

    /** A bare "Failure" writing under `target` is often a full disk, which sftp-server cannot name: statvfs tells. */
    async explained(target: string, err: unknown): Promise<unknown> {
        if ((err as { code?: number }).code !== SSH_FX_FAILURE || !this.hasExtension("statvfs@openssh.com")) return err;
        const dir = path.posix.dirname(target);
        try {
            const v = await sftpCall<StatVfs>((cb) => this.sftp.ext_openssh_statvfs(dir, cb));
            const cause = fullFilesystemCause((err as Error).message, dir, v);
            return cause ? new Error(cause) : err;
        } catch {
            return err;
        }
    }

    /** Whether the server offers an SFTP extension (e.g. "copy-data"). */
    hasExtension(name: string): boolean {
        const ext = (this.sftp as unknown as { _extensions?: Record<string, string> })._extensions;
        return !!ext && name in ext;
    }
}
