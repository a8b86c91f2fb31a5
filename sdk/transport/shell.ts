import type { ExecOptions, ExecResult, MtimeItem } from "./types";

/**
 * Shell snippets the transports run on a host. They exist once so that SSH,
 * local and sudo report the same failures in the same words.
 */

/** A string the host's POSIX shell reads as one literal word. */
export function shQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * sha256 of a file: `openssl dgst` (uses the CPU's SHA instructions, ≈ 4×
 * `sha256sum`), else `sha256sum`; exit 127 when the host has neither.
 */
export function sha256Script(p: string): string {
    const q = shQuote(p);
    return (
        `if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r ${q}; ` +
        `elif command -v sha256sum >/dev/null 2>&1; then sha256sum -b ${q}; else exit 127; fi`
    );
}

/** The hex digest in `openssl dgst -r` / `sha256sum -b` output (sha256sum prefixes a backslash for odd names). */
export function parseSha256(stdout: string): string | undefined {
    return /^\\?([0-9a-f]{64})\b/.exec(stdout)?.[1];
}

/**
 * sha256 of many files in one process: NUL-separated paths on stdin, one
 * `<hex> *<path>` line out per file it could read (sha256sum marks an
 * escaped name with a leading backslash). One exec, and one openssl or
 * sha256sum per few thousand files, instead of a process per file (≈ 8 ms
 * each for openssl here). Exit 127 when the host has no hashing tool or no
 * xargs.
 */
export const SHA256_MANY_SCRIPT =
    `if command -v openssl >/dev/null 2>&1; then set -- openssl dgst -sha256 -r; ` +
    `elif command -v sha256sum >/dev/null 2>&1; then set -- sha256sum -b; else exit 127; fi; ` +
    `command -v xargs >/dev/null 2>&1 || exit 127; xargs -0 -r "$@" 2>/dev/null; exit 0`;

/** What {@link SHA256_MANY_SCRIPT} printed, as path → hex. Lines it cannot read are skipped (their paths are then hashed one by one). */
export function parseSha256Lines(stdout: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const line of stdout.split("\n")) {
        const m = /^(\\?)([0-9a-f]{64}) \*(.+)$/.exec(line);
        if (!m) continue;
        // coreutils escapes "\\" and "\n" in a name and says so with the leading backslash.
        const name = m[1] ? m[3].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c)) : m[3];
        out.set(name, m[2]);
    }
    return out;
}

/**
 * {@link SHA256_MANY_SCRIPT} through `exec`: the hashes of `paths` it could
 * make (paths holding a line break stay out: the output is line-based).
 * Empty when the host has no tool for it.
 */
export async function hashManyByExec(t: { exec(command: string, options?: ExecOptions): Promise<ExecResult> }, paths: readonly string[]): Promise<Map<string, string>> {
    const sendable = paths.filter((p) => !p.includes("\n"));
    if (!sendable.length) return new Map();
    const r = await t.exec(SHA256_MANY_SCRIPT, { stdin: sendable.join("\0") + "\0" });
    return r.code === 0 ? parseSha256Lines(r.stdout) : new Map();
}

/** Exit codes of {@link chownScript} when a name does not resolve on the host. */
export const NO_SUCH_USER = 67;
export const NO_SUCH_GROUP = 68;

const NUMERIC = /^[0-9]+$/;

/**
 * `chown` with the names checked first, so that a missing user or group is
 * reported as such (exit {@link NO_SUCH_USER} / {@link NO_SUCH_GROUP}) rather
 * than as chown's "invalid user: 'a:b'". Numeric ids are taken as given.
 */
export function chownScript(p: string, owner: string | undefined, group: string | undefined): string {
    const checks: string[] = [];
    if (owner !== undefined && !NUMERIC.test(owner)) checks.push(`id -u ${shQuote(owner)} >/dev/null 2>&1 || exit ${NO_SUCH_USER}`);
    // Minimal hosts may lack getent; chown itself still refuses an unknown group then.
    if (group !== undefined && !NUMERIC.test(group)) checks.push(`if command -v getent >/dev/null 2>&1; then getent group ${shQuote(group)} >/dev/null 2>&1 || exit ${NO_SUCH_GROUP}; fi`);
    const spec = `${owner ?? ""}${group !== undefined ? `:${group}` : ""}`;
    return [...checks, `chown -h ${shQuote(spec)} ${shQuote(p)}`].join("; ");
}

/** Exit code of {@link accountIdsScript} when the host cannot look group names up. */
export const NO_GETENT = 69;

/**
 * Prints `<uid> <gid>` for an owner and a group (names or numbers; a part
 * left out prints `-`), so that files can then be chowned by number over
 * SFTP or fs, one cheap request each, instead of one shell per file. Exits
 * {@link NO_SUCH_USER} / {@link NO_SUCH_GROUP} when a name does not resolve.
 */
export function accountIdsScript(owner: string | undefined, group: string | undefined): string {
    const lines: string[] = [];
    if (owner === undefined) lines.push("u=-");
    else if (NUMERIC.test(owner)) lines.push(`u=${owner}`);
    else lines.push(`u=$(id -u ${shQuote(owner)} 2>/dev/null) || exit ${NO_SUCH_USER}`);
    if (group === undefined) lines.push("g=-");
    else if (NUMERIC.test(group)) lines.push(`g=${group}`);
    else {
        lines.push(`command -v getent >/dev/null 2>&1 || exit ${NO_GETENT}`);
        // "name:x:gid:members" → gid
        lines.push(`g=$(getent group ${shQuote(group)} 2>/dev/null) || exit ${NO_SUCH_GROUP}`, 'g=${g#*:}', 'g=${g#*:}', 'g=${g%%:*}');
    }
    lines.push('echo "$u $g"');
    return lines.join("; ");
}

/** The ids {@link accountIdsScript} printed (undefined for a part left out), or undefined when the output is not that. */
export function parseAccountIds(stdout: string): { uid?: number; gid?: number } | undefined {
    const m = /^(-|\d+) (-|\d+)\s*$/.exec(stdout.trim());
    if (!m) return undefined;
    return { ...(m[1] === "-" ? {} : { uid: Number(m[1]) }), ...(m[2] === "-" ? {} : { gid: Number(m[2]) }) };
}

/** What a failed {@link chownScript} means, for a TransportError's cause. */
export function chownFailure(code: number | null, output: string, owner: string | undefined, group: string | undefined): string {
    if (code === NO_SUCH_USER) return `no such user ${JSON.stringify(owner)} on the host; create it there or set owner to an existing user`;
    if (code === NO_GETENT) return `the host has no getent to look up group ${JSON.stringify(group)}; give the group's numeric id instead`;
    if (code === NO_SUCH_GROUP) return `no such group ${JSON.stringify(group)} on the host; create it there or set group to an existing group`;
    return output.trim() || `chown exited with code ${code}`;
}

/**
 * Sets mtimes with `touch -h -m -d @<seconds>` (GNU and busybox touch), one
 * command per distinct time, all of them in one script that stops at the
 * first failure: `-h` sets a symlink's own time, `-m` leaves atimes alone.
 */
export function touchScript(items: readonly MtimeItem[]): string {
    const byTime = new Map<number, string[]>();
    for (const it of items) {
        const list = byTime.get(it.mtime) ?? [];
        list.push(shQuote(it.path));
        byTime.set(it.mtime, list);
    }
    return [...byTime].map(([t, paths]) => `touch -h -m -d @${Math.floor(t)} -- ${paths.join(" ")}`).join(" && ");
}
