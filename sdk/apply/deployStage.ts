import * as path from "path";
import { sourcePath } from "../manifest";
import { COMMITS_IN_FLIGHT, DeltaPlan, DeltaRun, typeOf } from "./deltaPlan";
import { DeployError } from "./deployRequest";
import { validateStaged } from "./hooks";
import { writeJournal } from "./journal";
import { handEditedPath, targetPath } from "./layout";
import { enterPhase } from "./phases";
import { forEachLimit } from "./pool";
import { ProgressMeter } from "./progress";
import { stageFile } from "./stageFile";
import { MtimeFrom, planFolders, setMtimesFrom, TreeError } from "./tree";

/** Files below this size go many at a time; larger ones a few at a time, each with many writes in flight. */
const SMALL_FILE = 1024 * 1024;
const SMALL_FILES_IN_FLIGHT = 32;
const LARGE_FILES_IN_FLIGHT = 2;

/** `dirs` and all their ancestors, grouped by depth, shallowest first. */
function foldersByDepth(dirs: Iterable<string>): string[][] {
    const all = new Set<string>();
    for (const dir of dirs) {
        for (let d = dir; !all.has(d); d = path.posix.dirname(d)) {
            all.add(d);
            if (d === path.posix.dirname(d)) break;
        }
    }
    const levels: string[][] = [];
    for (const d of [...all].sort()) {
        const depth = d === "/" ? 0 : d.split("/").length - 1;
        (levels[depth] ??= []).push(d);
    }
    return levels.filter((l) => l !== undefined);
}

/** What staging leaves for the commit. */
export interface Staged {
    /** Manifest path → its staged copy. */
    staged: Map<string, string>;
    /** Folders this deployment made, or makes late: nothing inside them exists yet. */
    freshDirs: Set<string>;
    /** Folders where the host has a symlink or file that this delta takes away: made after the removals. */
    lateDirs: string[];
    /** The mode a folder this deployment makes gets. */
    folderMode: (abs: string) => number;
    /** Where the hand-edited versions of drifted files are kept, when there are any. */
    keptDir?: string;
}

/**
 * Stages the delta: nothing at the destination changes yet. The folders it
 * will create are journaled first (in `run.journal`), so a run killed from
 * here on leaves nothing the next one cannot take away.
 */
export async function stageDelta(plan: DeltaPlan, run: DeltaRun): Promise<Staged> {
    const { t, layout, req, id, previous, delta, staging, sameFs, files, index, puts, stagedPuts, filePuts, dirPuts, nextFolders, putBytes, handEdited } = plan;
    const { next, destination } = req;
    const hooks = req.hooks ?? {};
    const parents = new Set(puts.map((p) => path.posix.dirname(targetPath(destination, next.kind, p))));
    const levels = foldersByDepth([...parents, ...dirPuts.map((p) => targetPath(destination, next.kind, p)), path.posix.dirname(staging)]);
    // A folder path where the host has a symlink or file that this delta takes away (a link retargeted into a real folder) is made after the removals.
    const replacedByFolder = (abs: string) => {
        if (next.kind !== "dir" || !abs.startsWith(destination + "/")) return false;
        const rel = abs.slice(destination.length + 1);
        const before = previous?.entries.get(rel);
        return before !== undefined && before.type !== "dir" && nextFolders.has(rel);
    };
    let folderPlan;
    try {
        folderPlan = await planFolders(t, destination, levels.flat(), replacedByFolder);
        // What is removed is never reached through a symlink either (a deployed folder someone replaced by a link elsewhere).
        const removedParents = new Set(delta.removed.map((p) => path.posix.dirname(targetPath(destination, next.kind, p))));
        await planFolders(t, destination, foldersByDepth(removedParents).flat().filter((d) => d.startsWith(destination + "/")), () => false);
    } catch (err) {
        if (err instanceof TreeError) throw new DeployError(err.message);
        throw err;
    }
    const existing = folderPlan.existing;
    const folderMode = (abs: string) => (next.kind === "dir" && abs.startsWith(destination + "/") ? nextFolders.get(abs.slice(destination.length + 1)) ?? 0o755 : 0o755);
    const deferred = new Set(folderPlan.deferred);
    const keptDir = handEdited.size ? handEditedPath(layout, id) : undefined;
    run.journal = { version: 1, id, destination, staging, sameFs, ops: [], createdDirs: [...folderPlan.create, ...folderPlan.deferred], ...(keptDir ? { handEdited: keptDir } : {}) };
    await writeJournal(t, layout, run.journal);
    await enterPhase("upload");
    run.createdNow.push(...(await files.ensureDir(staging, 0o700)));
    // Folders level by level, each level's many at a time: a parent is always made before its children.
    for (const level of levels) {
        await forEachLimit(
            level.filter((d) => !existing.has(d) && !deferred.has(d)),
            COMMITS_IN_FLIGHT,
            async (dir) => {
                // A folder entry is made with its mode (less the umask: applied exactly after the puts), so a 0700 folder never shows wider.
                run.createdNow.push(...(await files.ensureDir(dir, folderMode(dir))));
            },
        );
    }
    const freshDirs = new Set([...run.createdNow, ...deferred]);
    const meter = new ProgressMeter(req.name ?? destination, filePuts.length, putBytes, req.log, req.progressIntervalMs);
    const staged = new Map<string, string>();
    stagedPuts.forEach((p, i) => staged.set(p, `${staging}/${i}`));
    const send = async (p: string) => {
        const e = next.entries.get(p)!;
        const src = sourcePath(req.source, next.kind, p);
        const before = next.kind === "file" ? [...(previous?.entries.values() ?? [])][0] : previous?.entries.get(p);
        // Large files are patched from the version already on the host when it can be; else sent whole.
        const got = await stageFile(t, {
            localPath: src,
            stagedPath: staged.get(p)!,
            targetPath: targetPath(destination, next.kind, p),
            entry: e,
            previous: before,
            index,
            onBytes: (n) => meter.bytes(n),
            log: req.log,
        });
        if (got.sha256 !== e.sha256) {
            throw new DeployError(
                `source file ${src} changed after the preview hashed it (expected sha256:${e.sha256}, read sha256:${got.sha256}); run pulumi up again`,
            );
        }
        run.bytesSent += got.bytesSent;
        meter.file();
    };
    const linkPuts = stagedPuts.filter((p) => typeOf(next, p) === "symlink");
    await Promise.all([
        forEachLimit(filePuts.filter((p) => next.entries.get(p)!.size < SMALL_FILE), SMALL_FILES_IN_FLIGHT, send),
        forEachLimit(filePuts.filter((p) => next.entries.get(p)!.size >= SMALL_FILE), LARGE_FILES_IN_FLIGHT, send),
        forEachLimit(linkPuts, COMMITS_IN_FLIGHT, (p) => t.symlink(next.entries.get(p)!.target ?? "", staged.get(p)!)),
    ]);
    meter.finish();
    // mtimes on the staged copies: a rename keeps them, so each path shows with its source's time from the first instant.
    if (req.preserveMtimes !== false) {
        await setMtimesFrom(
            t,
            stagedPuts.map((p): MtimeFrom => ({ localPath: sourcePath(req.source, next.kind, p), at: staged.get(p)!, symlink: typeOf(next, p) === "symlink" })),
        );
    }
    // Owned before the rename, so a file never shows at the destination with the wrong owner.
    const own = req.ownership;
    if (own && (own.owner !== undefined || own.group !== undefined)) {
        await forEachLimit(stagedPuts, COMMITS_IN_FLIGHT, (p) => t.chown(staged.get(p)!, own.owner, own.group));
        // The folders it made under the destination too (not staging's, not the state root's).
        await forEachLimit(run.createdNow.filter((d) => d.startsWith(destination + "/") || d === destination), COMMITS_IN_FLIGHT, (d) => t.chown(d, own.owner, own.group));
    }
    // validate with {staged}: the staged copy of a single file, before anything moves.
    if (next.kind === "file" && puts.length === 1) await validateStaged(t, hooks, staged.get(puts[0])!);

    // Hand-edited versions of drifted files, copied (linked) aside now and kept after the commit: the journal names their folder, so an undo drops it.
    if (handEdited.size) {
        req.log?.(`${req.name ?? destination}: keeping the version found on ${t.host} of ${handEdited.size} drifted file${handEdited.size === 1 ? "" : "s"} under ${keptDir}`);
        await forEachLimit([...handEdited.values()], COMMITS_IN_FLIGHT, (h) => files.keepCopy(h.target, h.keptAt));
    }
    return { staged, freshDirs, lateDirs: folderPlan.deferred, folderMode, keptDir };
}
