import * as crypto from "crypto";
import * as path from "path";
import { chownFailure, chownScript, hashManyByExec, parseSha256, sha256Script, shQuote, touchScript } from "./shell";
import { ByteRange, ExecOptions, ExecResult, FsSpace, MtimeItem, RemoteStat, Transport, TransportError, UploadResult, WriteRangesResult } from "./types";

/** Privileged scripts running at once: OpenSSH allows 10 channels per connection (MaxSessions), SFTP and hooks need some. */
const BATCHES_IN_FLIGHT = 3;
/** Operations folded into one `sudo` run: one exec and one sudo check pay for all of them. */
const BATCH_SIZE = 256;

/** One privileged operation: a shell snippet, and what to make of its output and exit code. */
interface Op {
    script: string;
    resolve: (r: { code: number; output: string }) => void;
    reject: (err: Error) => void;
}

/** Why `sudo -n` refused, in words that say what to do; undefined when the output is not sudo's own refusal. */
export function sudoRefusal(output: string, code: number | null, user: string, host: string): string | undefined {
    const said = output.trim().split("\n").find((l) => l.startsWith("sudo:")) ?? output.trim();
    if (code === 127 || /sudo: (command )?not found|sudo: No such file or directory/.test(output)) {
        return `sudo is not installed on ${host}; install it there (e.g. apt-get install sudo) or connect as root`;
    }
    if (/a password is required|a terminal is required/.test(output)) {
        return `user ${user} cannot run sudo without a password on ${host}; add a NOPASSWD sudoers entry (e.g. "${user} ALL=(root) NOPASSWD: ALL" in /etc/sudoers.d/) or connect as root`;
    }
    if (/not in the sudoers file|is not allowed to (execute|run)|may not run sudo/.test(output)) {
        return `user ${user} may not run sudo on ${host} (${said}); add a NOPASSWD sudoers entry for ${user} or connect as root`;
    }
    return undefined;
}

const S_IFMT = 0o170000;
const KINDS: Record<number, RemoteStat["kind"]> = { 0o100000: "file", 0o040000: "dir", 0o120000: "symlink" };

/**
 * `become: "sudo"`: a login user that is not root acts as root on the host.
 * File contents still travel over the login user's SFTP session, into an
 * upload folder that user owns (`mktemp -d` under `/var/tmp`, else its
 * home); every other operation — creating folders, moving files into
 * staging and into place, backups, ownership, records, hooks — runs as root
 * through `sudo -n` over exec, as shell commands with every path quoted.
 * Operations issued together share one `sudo` run, so a tree of many files
 * costs a few round trips, not one per file.
 *
 * The upload folder is not necessarily on the destination's filesystem:
 * moving a file from it into staging is then a copy (by `mv`), but the
 * final move from staging into place stays a rename, so what a service sees
 * still changes atomically. Server-side range copies (large-file patching)
 * are off: large files are sent whole.
 */
/** Paths per `touch` script. */
const TOUCH_BATCH = 500;

export class SudoTransport implements Transport {
    readonly host: string;
    private readonly queue: Op[] = [];
    private running = 0;
    private uploads?: Promise<string>;
    private uploadCount = 0;

    constructor(
        private readonly inner: Transport,
        /** The login user, for messages. */
        private readonly user: string,
    ) {
        this.host = inner.host;
    }

    /**
     * Checks once that `sudo -n` works, so a refusal is reported as such
     * before anything is staged. Throws a TransportError saying what to fix.
     */
    static async open(inner: Transport, user: string): Promise<SudoTransport> {
        const r = await inner.exec("sudo -n -- /bin/sh -c 'id -u'");
        const refusal = sudoRefusal(`${r.stderr}\n${r.stdout}`, r.code, user, inner.host);
        if (refusal) throw new TransportError("become root with sudo on", inner.host, "", `${refusal} (become: "sudo")`);
        if (r.code !== 0 || r.stdout.trim() !== "0") {
            throw new TransportError(
                "become root with sudo on",
                inner.host,
                "",
                `\`sudo -n id -u\` as ${user} ${r.code === 0 ? `printed ${JSON.stringify(r.stdout.trim())}, not 0` : `exited with code ${r.code}: ${(r.stderr || r.stdout).trim()}`} (become: "sudo")`,
            );
        }
        return new SudoTransport(inner, user);
    }

    private fail(verb: string, p: string, cause: string): never {
        throw new TransportError(verb, p, this.host, cause);
    }

    /** Runs a snippet as root, batched with whatever else is waiting. */
    private run(script: string): Promise<{ code: number; output: string }> {
        return new Promise((resolve, reject) => {
            this.queue.push({ script, resolve, reject });
            // setImmediate: operations issued in the same turn (forEachLimit's first wave) join one batch.
            if (this.queue.length === 1) setImmediate(() => this.pump());
        });
    }

    private pump(): void {
        while (this.running < BATCHES_IN_FLIGHT && this.queue.length > 0) {
            const batch = this.queue.splice(0, BATCH_SIZE);
            this.running++;
            void this.runBatch(batch).finally(() => {
                this.running--;
                this.pump();
            });
        }
    }

    /**
     * One `sudo -n sh -s` whose script comes on stdin (no argv length limit):
     * each operation in a subshell with stderr folded into stdout, followed
     * by a marker line carrying its index and exit code.
     */
    private async runBatch(batch: Op[]): Promise<void> {
        const mark = `@@pd-${crypto.randomBytes(8).toString("hex")}`;
        const script = batch.map((op, i) => `(\n${op.script}\n) </dev/null 2>&1; printf '\\n${mark} %d %d\\n' ${i} $?\n`).join("");
        let r: ExecResult;
        try {
            r = await this.inner.exec("sudo -n -- /bin/sh -s", { stdin: script });
        } catch (err) {
            for (const op of batch) op.reject(err as Error);
            return;
        }
        const re = new RegExp(`\\n${mark} (\\d+) (\\d+)\\n`, "g");
        const done = new Set<number>();
        let start = 0;
        for (let m = re.exec(r.stdout); m; m = re.exec(r.stdout)) {
            const i = Number(m[1]);
            batch[i]?.resolve({ code: Number(m[2]), output: r.stdout.slice(start, m.index) });
            done.add(i);
            start = m.index + m[0].length;
        }
        if (done.size === batch.length) return;
        const refusal = sudoRefusal(`${r.stderr}\n${r.stdout}`, r.code, this.user, this.host);
        const cause = refusal ?? `sudo -n sh exited with code ${r.code} before finishing: ${(r.stderr || r.stdout).trim().slice(0, 2000)}`;
        batch.forEach((op, i) => done.has(i) || op.reject(new Error(cause)));
    }

    /** Runs a snippet; a non-zero exit becomes `failed to <verb> <path> on <host>: <its output>`. */
    private async must(verb: string, p: string, script: string): Promise<string> {
        let r: { code: number; output: string };
        try {
            r = await this.run(script);
        } catch (err) {
            this.fail(verb, p, (err as Error).message);
        }
        if (r.code !== 0) this.fail(verb, p, r.output.trim() || `exit code ${r.code}`);
        return r.output;
    }

    homeDir(): Promise<string> {
        return this.inner.homeDir();
    }

    async isRoot(): Promise<boolean> {
        return true;
    }

    async stat(p: string): Promise<RemoteStat | undefined> {
        const q = shQuote(p);
        const out = (await this.must("stat", p, `if [ -e ${q} ] || [ -L ${q} ]; then stat -c '%f %s %Y' ${q}; else echo ENOENT; fi`)).trim();
        if (out === "ENOENT") return undefined;
        const m = /^([0-9a-f]+) (\d+) (\d+)$/.exec(out);
        if (!m) this.fail("stat", p, `unexpected output from stat: ${JSON.stringify(out.slice(0, 200))}`);
        const raw = parseInt(m[1], 16);
        return { kind: KINDS[raw & S_IFMT] ?? "other", mode: raw & 0o7777, size: Number(m[2]), mtime: Number(m[3]) };
    }

    async mkdirp(p: string, mode = 0o755): Promise<string[]> {
        const chain: string[] = [];
        for (let d = p; ; d = path.posix.dirname(d)) {
            chain.unshift(d);
            if (d === path.posix.dirname(d)) break;
        }
        // mkdir -m sets the exact mode (no umask), as the SFTP transport's chmod after mkdir does.
        const script =
            `for d in ${chain.map(shQuote).join(" ")}; do ` +
            `if [ -d "$d" ]; then continue; fi; ` +
            `if [ -e "$d" ] || [ -L "$d" ]; then echo "$d exists and is not a directory"; exit 1; fi; ` +
            `mkdir -m ${mode.toString(8)} "$d" 2>/dev/null || [ -d "$d" ] || { mkdir -m ${mode.toString(8)} "$d"; exit 1; }; printf '%s\\0' "$d"; done`;
        const out = await this.must("create directory", p, script);
        return out.split("\0").filter((d) => d.startsWith("/"));
    }

    async readdir(p: string): Promise<string[]> {
        const out = await this.must("list", p, `find ${shQuote(p)} -mindepth 1 -maxdepth 1 -printf '%f\\0'`);
        return out.split("\0").filter((n) => n !== "");
    }

    async readFile(p: string): Promise<Buffer> {
        return Buffer.from(await this.must("read", p, `base64 ${shQuote(p)}`), "base64");
    }

    async createExclusive(p: string, data: string): Promise<boolean> {
        const q = shQuote(p);
        // noclobber makes the shell open with O_EXCL: two runs racing for a lock cannot both win.
        const out = await this.must(
            "create",
            p,
            `if [ -e ${q} ] || [ -L ${q} ]; then echo EEXIST; exit 0; fi; ` +
                `(umask 077; set -C; printf '%s' ${shQuote(data)} > ${q}) && exit 0; if [ -e ${q} ]; then echo EEXIST; exit 0; fi; exit 1`,
        );
        return out.trim() !== "EEXIST";
    }

    async writeFile(p: string, data: string | Buffer, mode = 0o600): Promise<void> {
        const b64 = (typeof data === "string" ? Buffer.from(data) : data).toString("base64").replace(/.{1,76}/g, "$&\n");
        const end = `PD_EOF_${crypto.randomBytes(6).toString("hex")}`;
        const q = shQuote(p);
        await this.must("write", p, `umask 077; base64 -d > ${q} <<'${end}'\n${b64}${end}\nchmod ${mode.toString(8)} ${q}`);
    }

    /** The login user's upload folder, made on first use; files in it are moved into staging as root. */
    private uploadDir(): Promise<string> {
        this.uploads ??= this.inner.exec("mktemp -d /var/tmp/pulumi-delta-upload.XXXXXX 2>/dev/null || mktemp -d \"$HOME/.pulumi-delta-upload.XXXXXX\"").then((r) => {
            const dir = r.stdout.trim();
            if (r.code !== 0 || !dir.startsWith("/")) {
                throw new TransportError("create an upload folder for", this.user, this.host, (r.stderr || r.stdout).trim() || `mktemp exited with code ${r.code}`);
            }
            return dir;
        });
        return this.uploads;
    }

    async upload(localPath: string, remotePath: string, mode: number, onBytes?: (n: number) => void): Promise<UploadResult> {
        const dir = await this.uploadDir();
        const temp = `${dir}/${++this.uploadCount}`;
        const sent = await this.inner.upload(localPath, temp, mode, onBytes);
        const t = shQuote(temp);
        // Root owns what root deploys (owner/group may change it next); chown clears set-id bits, so the mode goes after it.
        await this.must("move", `${temp} to ${remotePath}`, `chown 0:0 ${t} && chmod ${mode.toString(8)} ${t} && mv -f -T ${t} ${shQuote(remotePath)}`).catch(async (err) => {
            await this.inner.unlink(temp).catch(() => undefined);
            throw err;
        });
        return sent;
    }

    async rename(from: string, to: string): Promise<void> {
        await this.must("rename", `${from} to ${to}`, `mv -f -T ${shQuote(from)} ${shQuote(to)}`);
    }

    async link(existing: string, newPath: string): Promise<void> {
        await this.must("link", `${existing} to ${newPath}`, `ln -T ${shQuote(existing)} ${shQuote(newPath)}`);
    }

    async copyFile(from: string, to: string): Promise<void> {
        // -p keeps owner and mode: an original copied back across filesystems returns as it was.
        await this.must("copy", `${from} to ${to}`, `cp -p --reflink=auto -T ${shQuote(from)} ${shQuote(to)}`);
    }

    async symlink(target: string, p: string): Promise<void> {
        await this.must("create symlink", p, `ln -s -T -- ${shQuote(target)} ${shQuote(p)}`);
    }

    async readlink(p: string): Promise<string> {
        // A marker after the text keeps a trailing newline of the target.
        const out = await this.must("read symlink", p, `readlink -- ${shQuote(p)} && echo .`);
        return out.replace(/\n\.\n?$/, "");
    }

    async setMtimes(items: readonly MtimeItem[]): Promise<void> {
        for (let i = 0; i < items.length; i += TOUCH_BATCH) {
            const batch = items.slice(i, i + TOUCH_BATCH);
            await this.must("set the mtime of", batch.length === 1 ? batch[0].path : `${batch[0].path} and ${batch.length - 1} more`, touchScript(batch));
        }
    }

    async chmod(p: string, mode: number): Promise<void> {
        await this.must("chmod", p, `chmod ${mode.toString(8)} ${shQuote(p)}`);
    }

    async chown(p: string, owner: string | undefined, group: string | undefined): Promise<void> {
        if (owner === undefined && group === undefined) return;
        let r: { code: number; output: string };
        try {
            r = await this.run(chownScript(p, owner, group));
        } catch (err) {
            this.fail("set the owner of", p, (err as Error).message);
        }
        if (r.code !== 0) this.fail("set the owner of", p, chownFailure(r.code, r.output, owner, group));
    }

    async unlink(p: string): Promise<void> {
        // Without -r or -f, rm acts like unlink(2): a directory or a missing path is an error.
        await this.must("remove", p, `rm ${shQuote(p)}`);
    }

    async rmdir(p: string): Promise<void> {
        await this.must("remove directory", p, `rmdir ${shQuote(p)}`);
    }

    async removeTree(p: string): Promise<void> {
        if (!p.startsWith("/") || path.posix.normalize(p) === "/") this.fail("remove", p, "refusing to remove a relative path or /");
        await this.must("remove", p, `rm -rf ${shQuote(p)}`);
    }

    async space(p: string): Promise<FsSpace> {
        const out = (await this.must("read free space of", p, `stat -f -c '%a %S %i' ${shQuote(p)}`)).trim();
        const m = /^(\d+) (\d+) ([0-9a-f]+)$/.exec(out);
        if (!m) this.fail("read free space of", p, `unexpected output from stat -f: ${JSON.stringify(out.slice(0, 200))}`);
        // Some filesystems report fsid 0: that tells nothing.
        return { availableBytes: Number(m[1]) * Number(m[2]), fsid: /^0+$/.test(m[3]) ? undefined : m[3] };
    }

    canCopyRanges(): boolean {
        // copy-data runs in the login user's SFTP session, which cannot open root's files.
        return false;
    }

    async copyRanges(from: string, to: string, _ranges: readonly ByteRange[]): Promise<void> {
        this.fail("copy ranges", `${from} to ${to}`, 'server-side range copies are not available with become: "sudo"; send the file whole');
    }

    async writeRanges(localPath: string, remotePath: string, _ranges: readonly ByteRange[]): Promise<WriteRangesResult> {
        this.fail("upload ranges", `${localPath} to ${remotePath}`, 'range writes are not available with become: "sudo"; send the file whole');
    }

    async sha256(p: string): Promise<string | undefined> {
        const r = await this.run(sha256Script(p)).catch((err: Error) => this.fail("hash", p, err.message));
        if (r.code === 127) return undefined;
        const hex = parseSha256(r.output);
        if (r.code !== 0 || !hex) this.fail("hash", p, r.output.trim() || `exit code ${r.code}`);
        return hex;
    }

    /** As root, in one `sudo` run for all of them. */
    async sha256Many(paths: readonly string[]): Promise<Map<string, string>> {
        return hashManyByExec(this, paths);
    }

    /** Hooks run as root too (e.g. `nginx -t`, `systemctl reload nginx`), by the host's /bin/sh. */
    exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
        return this.inner.exec(`sudo -n -- /bin/sh -c ${shQuote(command)}`, options);
    }

    async close(): Promise<void> {
        try {
            if (this.uploads) {
                const dir = await this.uploads.catch(() => undefined);
                if (dir) await this.inner.removeTree(dir).catch(() => undefined);
            }
        } finally {
            await this.inner.close();
        }
    }
}
