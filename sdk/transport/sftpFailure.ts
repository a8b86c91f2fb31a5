/** SSH_FX_EOF: a read past the end of a file. */
export const SSH_FX_EOF = 1;

/** SSH_FX_FAILURE: the status OpenSSH's sftp-server sends for an errno it has no code for, ENOSPC among them. */
export const SSH_FX_FAILURE = 4;

/** What statvfs@openssh.com reports (ssh2 names the fields as the C struct does). */
export interface StatVfs {
    f_bavail: number | bigint;
    f_frsize: number | bigint;
    f_favail?: number | bigint;
}

/** Below this many free bytes a failed write is taken for a full filesystem (a write needs whole blocks, up to 256 KiB here). */
export const FULL_BELOW_BYTES = 1024 * 1024;

/**
 * The cause to show for a bare "Failure" on a write or a create in `dir`,
 * when the filesystem holding it turns out to be full (few bytes or no
 * inodes left); undefined when it does not.
 */
export function fullFilesystemCause(serverText: string, dir: string, v: StatVfs): string | undefined {
    const free = Number(v.f_bavail) * Number(v.f_frsize);
    const noInodes = v.f_favail !== undefined && Number(v.f_favail) === 0;
    if (free >= FULL_BELOW_BYTES && !noInodes) return undefined;
    const left = noInodes ? "no inodes" : `${free} bytes`;
    return `no space left on device (the server said "${serverText}"; the filesystem holding ${dir} has ${left} free); free some space there, or deploy to another filesystem`;
}
