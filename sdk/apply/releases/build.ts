import * as path from "path";
import { Manifest, sourcePath } from "../../manifest";
import type { Transport } from "../../transport";
import { LargeFileIndex } from "../chunkIndex";
import type { Ownership } from "../hostFiles";
import { forEachLimit } from "../pool";
import { ProgressMeter } from "../progress";
import { stageFile } from "../stageFile";
import type { ReleasePlan } from "./plan";

/** Links are cheap requests: many in flight (20,000 links took 0.76 s with 256, 1.1 s with 64 over loopback SFTP). */
const LINKS_IN_FLIGHT = 256;
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
    index: LargeFileIndex;
    ownership?: Ownership;
    name: string;
    log?: (line: string) => void;
    progressIntervalMs?: number;
}

/** `dirs` and their ancestors below `root`, by depth: a parent is made before its children. */
function levels(root: string, files: Iterable<string>): string[][] {
    const all = new Set<string>();
    for (const f of files) for (let d = path.posix.dirname(f); d !== "." && !all.has(d); d = path.posix.dirname(d)) all.add(d);
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
    const dirs = levels(release, next.entries.keys());
    for (const level of dirs) await forEachLimit(level, DIRS_IN_FLIGHT, (d) => t.mkdirp(d, 0o755).then(() => undefined));
    if (own) await forEachLimit([release, ...dirs.flat()], DIRS_IN_FLIGHT, (d) => t.chown(d, own.owner, own.group));
    if (plan.link.length || plan.copy.length) {
        if (!current) throw new Error(`internal: a release plan links ${plan.link.length} files but there is no live release`);
        await forEachLimit(plan.link, LINKS_IN_FLIGHT, (p) => t.link(`${current.folder}/${p}`, `${release}/${p}`));
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
        const before = current?.manifest.entries.get(p);
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
    return bytesSent;
}
