import * as path from "path";
import { Manifest, sourcePath } from "../../manifest";
import type { Transport } from "../../transport";
import { shQuote } from "../../transport";
import { LargeFileIndex } from "../chunkIndex";
import type { Ownership } from "../hostFiles";
import { forEachLimit } from "../pool";
import { ProgressMeter } from "../progress";
import { stageFile } from "../stageFile";
import { applyFolderModes, applyFolderMtimes, setMtimesFrom } from "../tree";
import type { ReleasePlan } from "./plan";

/** Links one at a time over SFTP are cheap requests: many in flight (see linkAll). */
const LINKS_IN_FLIGHT = 256;
/** Below this many links the SFTP requests cost less than starting a command. */
const LINKS_BY_COMMAND = 200;
const DIRS_IN_FLIGHT = 64;
const SMALL_FILE = 1024 * 1024;
const SMALL_FILES_IN_FLIGHT = 32;
const LARGE_FILES_IN_FLIGHT = 2;

export interface BuildRequest {
    source: string;
    next: Manifest;
    plan: ReleasePlan;
    /** The new release's folder (created here). */
    release: string;
    /** The live release's folder and manifest, which unchanged files are linked from and large files patched from. */
    current?: { folder: string; manifest: Manifest };
    /** Paths whose file in the live release changed on the host since it was built: sent whole, never patched from it. */
    fresh?: ReadonlySet<string>;
    index: LargeFileIndex;
    ownership?: Ownership;
    name: string;
    log?: (line: string) => void;
    progressIntervalMs?: number;
    /** Sent and copied files, symlinks and every folder get their source's mtime (linked files share the live release's). Default: true. */
    preserveMtimes?: boolean;
}

/**
 * Hard-links `files` from `from` into `to` (their folders exist). Many at
 * once through one command on the host (GNU `cp -l`, the list on stdin):
 * for 20,000 files on a loaded 2-core machine 0.79 s, against 1.64 s for
 * SFTP `hardlink@openssh.com` requests 256 in flight (2.68 s with 64).
 * Where that command is missing or fails, the links the host does not have
 * yet are made over SFTP.
 */
async function linkAll(t: Transport, from: string, to: string, files: readonly string[], log?: (line: string) => void): Promise<void> {
    if (files.length >= LINKS_BY_COMMAND) {
        const r = await t.exec(`cd ${shQuote(from)} && xargs -0 cp -l --parents -t ${shQuote(to)} --`, { stdin: files.join("\0") }).catch((err: Error) => ({ code: -1, stdout: "", stderr: err.message }));
        if (r.code === 0) return;
        log?.(`hard-linking ${files.length} files with cp -l on ${t.host} failed (${r.stderr.trim().split("\n")[0] || `exit code ${r.code}`}); linking them over SFTP`);
    }
    await forEachLimit(files, LINKS_IN_FLIGHT, async (p) => {
        try {
            await t.link(`${from}/${p}`, `${to}/${p}`);
        } catch (err) {
            // Made already by the command that failed part way.
            if ((await t.stat(`${to}/${p}`))?.kind !== "file") throw err;
        }
    });
}

/** The folders of a manifest (folder entries and every entry's parents) below `root`, by depth: a parent is made before its children. */
function levels(root: string, m: Manifest): string[][] {
    const all = new Set<string>();
    const add = (from: string) => {
        for (let d = from; d !== "." && !all.has(d); d = path.posix.dirname(d)) all.add(d);
    };
    for (const [p, e] of m.entries) add(e.type === "dir" ? p : path.posix.dirname(p));
    const out: string[][] = [];
    for (const d of all) (out[d.split("/").length - 1] ??= []).push(`${root}/${d}`);
    return out.filter((l) => l !== undefined);
}

/**
 * Builds a complete release folder: every unchanged file a hard link to
 * the live release's (server-side, zero bytes sent), a file whose mode or
 * owner changes copied on the host, and only the delta staged from the
 * source (large files patched from the live release's version). The
 * folder is not live yet, so files are written straight to their place in it.
 * Returns the file bytes sent.
 */
export async function buildRelease(t: Transport, req: BuildRequest): Promise<number> {
    const { next, plan, release, current } = req;
    await t.mkdirp(release, 0o755);
    const own = req.ownership && (req.ownership.owner !== undefined || req.ownership.group !== undefined) ? req.ownership : undefined;
    const dirs = levels(release, next);
    for (const level of dirs) await forEachLimit(level, DIRS_IN_FLIGHT, (d) => t.mkdirp(d, 0o755).then(() => undefined));
    if (own) await forEachLimit([release, ...dirs.flat()], DIRS_IN_FLIGHT, (d) => t.chown(d, own.owner, own.group));
    if (plan.link.length || plan.copy.length) {
        if (!current) throw new Error(`internal: a release plan links ${plan.link.length} files but there is no live release`);
        await linkAll(t, current.folder, release, plan.link, req.log);
        await forEachLimit(plan.copy, SMALL_FILES_IN_FLIGHT, async (p) => {
            await t.copyFile(`${current.folder}/${p}`, `${release}/${p}`);
            await t.chmod(`${release}/${p}`, next.entries.get(p)!.mode);
        });
    }
    const sendBytes = plan.send.reduce((n, p) => n + next.entries.get(p)!.size, 0);
    const meter = new ProgressMeter(req.name, plan.send.length, sendBytes, req.log, req.progressIntervalMs);
    let bytesSent = 0;
    const send = async (p: string) => {
        const e = next.entries.get(p)!;
        const src = sourcePath(req.source, next.kind, p);
        const before = req.fresh?.has(p) ? undefined : current?.manifest.entries.get(p);
        const got = await stageFile(t, {
            localPath: src,
            stagedPath: `${release}/${p}`,
            targetPath: before ? `${current!.folder}/${p}` : `${release}/${p}`,
            entry: e,
            previous: before,
            index: req.index,
            onBytes: (n) => meter.bytes(n),
            log: req.log,
        });
        if (got.sha256 !== e.sha256) {
            throw new Error(`source file ${src} changed after the preview hashed it (expected sha256:${e.sha256}, read sha256:${got.sha256}); run pulumi up again`);
        }
        bytesSent += got.bytesSent;
        meter.file();
    };
    await Promise.all([
        forEachLimit(plan.send.filter((p) => next.entries.get(p)!.size < SMALL_FILE), SMALL_FILES_IN_FLIGHT, send),
        forEachLimit(plan.send.filter((p) => next.entries.get(p)!.size >= SMALL_FILE), LARGE_FILES_IN_FLIGHT, send),
    ]);
    meter.finish();
    if (own) await forEachLimit([...plan.send, ...plan.copy], DIRS_IN_FLIGHT, (p) => t.chown(`${release}/${p}`, own.owner, own.group));
    // Links carry their target text; the host's user owns them (chown would follow them).
    await forEachLimit(plan.symlinks, DIRS_IN_FLIGHT, (p) => t.symlink(next.entries.get(p)!.target ?? "", `${release}/${p}`));
    if (req.preserveMtimes !== false) {
        const files = [...plan.send, ...plan.copy].map((p) => ({ localPath: sourcePath(req.source, next.kind, p), at: `${release}/${p}` }));
        const links = plan.symlinks.map((p) => ({ localPath: sourcePath(req.source, next.kind, p), at: `${release}/${p}`, symlink: true }));
        await setMtimesFrom(t, [...files, ...links]);
    }
    await applyFolderModes(t, release, next, { ownership: own });
    // Last: writing into a folder moves its mtime.
    if (req.preserveMtimes !== false) await applyFolderMtimes(t, req.source, release, next);
    return bytesSent;
}
