import * as fs from "fs";
import * as path from "path";
import { foldersOf, Manifest, ManifestEntry, sourcePath } from "../manifest";
import type { MtimeItem, RemoteStat, Transport } from "../transport";
import type { Ownership } from "./hostFiles";
import { targetPath } from "./layout";
import { forEachLimit } from "./pool";

/**
 * The parts of a faithful tree (`rsync -a`) beyond file contents: putting
 * one entry of any kind at a path, folder modes and owners, and mtimes.
 * Both strategies use them: inPlace on staged entries and the folders of
 * the destination, releases on the folders of a new release.
 */

const IN_FLIGHT = 64;

export class TreeError extends Error {}

/**
 * A local path's mtime in whole seconds; undefined when it is gone. `own`:
 * a symlink's own time; else what the path leads to (a link deployed as
 * its target, `symlinks: "follow"`, gets the target's time, as `rsync -L`).
 */
export function localMtime(localPath: string, own = false): number | undefined {
    try {
        return Math.floor((own ? fs.lstatSync(localPath) : fs.statSync(localPath)).mtimeMs / 1000);
    } catch {
        return undefined;
    }
}

export interface PlaceRequest {
    /** The source path on this machine (read for a file; for a symlink or folder only for its mtime). */
    localPath: string;
    /** Where on the host; nothing may be there yet except, for a folder, a folder. */
    at: string;
    entry: ManifestEntry;
    /** Set the host path's mtime to `localPath`'s. Default: true. */
    mtime?: boolean;
    onBytes?: (n: number) => void;
}

export interface PlaceResult {
    /** File bytes sent (0 for a symlink or folder). */
    bytesSent: number;
    /** sha256 of what was sent, for a file: the caller checks it against the entry. */
    sha256?: string;
}

/**
 * Puts one manifest entry at a host path: a file uploaded with its mode, a
 * symlink with its target text, a folder with its mode (a folder already
 * there only gets the mode). mtimes come from the source unless
 * `mtime: false`; for many entries, pass false and use {@link setMtimesFrom}
 * once instead (one batch).
 */
export async function placeEntry(t: Transport, req: PlaceRequest): Promise<PlaceResult> {
    const e = req.entry;
    let result: PlaceResult = { bytesSent: 0 };
    if (e.type === "symlink") {
        await t.symlink(e.target ?? "", req.at);
    } else if (e.type === "dir") {
        const st = await t.stat(req.at);
        if (!st) await t.mkdirp(req.at, e.mode);
        else if (st.kind !== "dir") throw new TreeError(`cannot make folder ${req.at} on ${t.host}: a ${st.kind} is there`);
        await t.chmod(req.at, e.mode);
    } else {
        const r = await t.upload(req.localPath, req.at, e.mode, req.onBytes);
        result = { bytesSent: r.bytes, sha256: r.sha256 };
    }
    if (req.mtime !== false) await setMtimesFrom(t, [{ localPath: req.localPath, at: req.at, symlink: e.type === "symlink" }]);
    return result;
}

/** One host path whose mtime is taken from a local path. */
export interface MtimeFrom {
    localPath: string;
    at: string;
    symlink?: boolean;
}

/** Sets each host path's mtime to its local path's (one batch); local paths that are gone are skipped. */
export async function setMtimesFrom(t: Transport, items: readonly MtimeFrom[]): Promise<void> {
    const out: MtimeItem[] = [];
    for (const it of items) {
        const mtime = localMtime(it.localPath, it.symlink === true);
        if (mtime !== undefined) out.push({ path: it.at, mtime, ...(it.symlink ? { symlink: true } : {}) });
    }
    if (out.length) await t.setMtimes(out);
}

/** Relative folder paths deepest first (children before parents), "" (the root) last. */
export function deepestFirst(rels: Iterable<string>): string[] {
    const depth = (r: string) => (r === "" ? 0 : r.split("/").length);
    return [...new Set(rels)].sort((a, b) => depth(b) - depth(a) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The folders (relative, "" for the root) whose listing a change of
 * `paths` touched: each path's parent, and for folders also the folder
 * itself. Their mtimes are set again afterwards.
 */
export function touchedFolders(paths: Iterable<string>, folders: Iterable<string> = []): Set<string> {
    const out = new Set<string>();
    const parent = (p: string) => (p.includes("/") ? path.posix.dirname(p) : "");
    for (const p of paths) out.add(parent(p));
    for (const d of folders) {
        out.add(d);
        out.add(parent(d));
    }
    return out;
}

/**
 * Sets the mtimes of folders of a directory tree deployed at `root` to
 * their source folders', deepest first, after everything inside them is
 * written (writing into a folder moves its mtime). `rels`: relative folder
 * paths, "" for the root; default every folder of `m` and the root.
 * A folder missing on the host or in the source is skipped.
 */
export async function applyFolderMtimes(t: Transport, source: string, root: string, m: Manifest, rels?: Iterable<string>): Promise<void> {
    if (m.kind !== "dir") return;
    const all = rels ?? ["", ...foldersOf(m).keys()];
    const items: MtimeFrom[] = [];
    for (const rel of deepestFirst(all)) {
        items.push({ localPath: rel === "" ? source : sourcePath(source, "dir", rel), at: rel === "" ? root : `${root}/${rel}` });
    }
    // Folders are set after their children: setMtimes keeps the order within one call for local and sudo, and setting a folder's own time never moves its parent's.
    const isDir = new Set<string>();
    await forEachLimit(items, IN_FLIGHT, async (it) => {
        if ((await t.stat(it.at))?.kind === "dir") isDir.add(it.at);
    });
    await setMtimesFrom(t, items.filter((it) => isDir.has(it.at)));
}

/**
 * chmods every folder entry of `m` at `root` (empty folders, folders whose
 * mode is not the default) and, with `ownership`, chowns them and the
 * `created` folders (absolute). `only`: relative folder entries to apply
 * (default all).
 */
export async function applyFolderModes(t: Transport, root: string, m: Manifest, options: { only?: Iterable<string>; created?: readonly string[]; ownership?: Ownership } = {}): Promise<void> {
    const dirs: [string, number][] = [];
    const only = options.only ? new Set(options.only) : undefined;
    for (const [p, e] of m.entries) if (e.type === "dir" && (!only || only.has(p))) dirs.push([targetPath(root, m.kind, p), e.mode]);
    await forEachLimit(dirs, IN_FLIGHT, ([at, mode]) => t.chmod(at, mode));
    const own = options.ownership;
    if (own && (own.owner !== undefined || own.group !== undefined)) {
        const targets = new Set([...dirs.map(([at]) => at), ...(options.created ?? [])]);
        await forEachLimit([...targets], IN_FLIGHT, (at) => t.chown(at, own.owner, own.group));
    }
}

/** What a folder the deployment needs under the destination is on the host. */
export interface FolderPlan {
    /** Already there as real folders. */
    existing: Set<string>;
    /** Missing: made before anything moves. */
    create: string[];
    /** Where a deployed symlink or file sits that this delta removes: made in the commit, after the removals. Parents first. */
    deferred: string[];
}

/**
 * Sorts the folders a deployment needs (absolute, with all their ancestors)
 * by what the host has there. Writing never goes through a symlink: a
 * folder path under `destination` that is a symlink (or a file) on the
 * host is deferred when `replaced` says this delta takes that very path
 * away (a symlink or file the previous deployment put there), and refused
 * otherwise, naming it and where it points.
 */
export async function planFolders(t: Transport, destination: string, folders: readonly string[], replaced: (abs: string) => boolean): Promise<FolderPlan> {
    const stats = new Map<string, RemoteStat | undefined>();
    await forEachLimit(folders, IN_FLIGHT, async (d) => {
        stats.set(d, await t.stat(d));
    });
    const plan: FolderPlan = { existing: new Set(), create: [], deferred: [] };
    const deferredRoots: string[] = [];
    const under = (d: string, root: string) => d.startsWith(root + "/");
    for (const d of [...folders].sort((a, b) => a.split("/").length - b.split("/").length || (a < b ? -1 : 1))) {
        if (deferredRoots.some((r) => under(d, r))) {
            plan.deferred.push(d);
            continue;
        }
        const st = stats.get(d);
        if (!st) {
            plan.create.push(d);
            continue;
        }
        if (st.kind === "dir" || !under(d, destination)) {
            // Above the destination, what the host's admin set up (a symlinked /srv, say) is theirs to decide.
            plan.existing.add(d);
            continue;
        }
        if (replaced(d)) {
            deferredRoots.push(d);
            plan.deferred.push(d);
            continue;
        }
        const what = st.kind === "symlink" ? `a symlink (to ${JSON.stringify(await t.readlink(d).catch(() => "?"))})` : `a ${st.kind}`;
        throw new TreeError(
            `cannot write under ${d} on ${t.host}: it is ${what} that pulumi-delta did not deploy, where the deployment needs a folder; pulumi-delta never writes through a symlink. ` +
                `Move it away (or replace it with a real folder) and run pulumi up again`,
        );
    }
    return plan;
}

/**
 * Folders under `destination` above any of `targets` that are not real
 * folders on the host (a deployed folder someone replaced by a symlink):
 * nothing under them may be moved or removed, since that would act on
 * whatever the link points at.
 */
export async function foldersNotReal(t: Transport, destination: string, targets: readonly string[]): Promise<string[]> {
    const folders = new Set<string>();
    for (const target of targets) {
        for (let d = path.posix.dirname(target); d.startsWith(destination + "/") && !folders.has(d); d = path.posix.dirname(d)) folders.add(d);
    }
    const bad: string[] = [];
    await forEachLimit([...folders], IN_FLIGHT, async (d) => {
        const st = await t.stat(d);
        if (st && st.kind !== "dir") bad.push(d);
    });
    return bad.sort();
}
