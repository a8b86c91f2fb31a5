import * as fs from "fs";
import * as path from "path";
import { PathMatcher } from "./exclude";
import { literalPattern, quoteBytes, Refusal, refusalMessage } from "./refusals";
import type { FileIdentity } from "./hashCache";

/** One regular file found under a source. */
export interface WalkedFile {
    /** Relative POSIX path (the base name when the source is a single file). */
    path: string;
    absPath: string;
    mode: number;
    size: number;
    mtimeMs: number;
    /** What a hash cache compares to decide that the file is unchanged. */
    id: FileIdentity;
}

function walked(rel: string, abs: string, st: fs.Stats): WalkedFile {
    return {
        path: rel,
        absPath: abs,
        mode: st.mode & 0o7777,
        size: st.size,
        mtimeMs: st.mtimeMs,
        id: { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs },
    };
}

/** One symlink found under a source (kept as a link: `symlinks: "preserve"`). */
export interface WalkedLink {
    path: string;
    absPath: string;
    /** The link's text, as readlink returns it. */
    target: string;
}

/** One folder found under a source (not the source itself). */
export interface WalkedDir {
    path: string;
    absPath: string;
    mode: number;
    /** Nothing below it is deployed (no entries, or all of them excluded). */
    empty: boolean;
}

/** What a walk does with a symlink under the source. */
export type SymlinkPolicy = "preserve" | "follow" | "refuse";

export const SYMLINK_POLICIES: readonly SymlinkPolicy[] = ["preserve", "follow", "refuse"];

export interface WalkOptions {
    /**
     * `preserve` (default): a symlink is listed as a link with its target
     * text, whatever it points at (absolute, outside the source, dangling).
     * `follow`: a symlink is replaced by what it points at, a file or a
     * folder (walked in turn); a dangling link or a loop is refused.
     * `refuse`: every symlink is refused.
     */
    symlinks?: SymlinkPolicy;
}

export interface WalkResult {
    kind: "dir" | "file";
    files: WalkedFile[];
    /** Symlinks kept as links; empty unless `symlinks` is `preserve`. */
    links: WalkedLink[];
    /** Every folder below the source, parents before children. */
    dirs: WalkedDir[];
}

export class SourceError extends Error {}

/**
 * Lists the regular files of a source directory (or the source file itself).
 * Synchronous readdir + lstat: 4-5x faster than promise-based walks here.
 * Symlinks, special files and names a manifest cannot carry are refused
 * rather than guessed at, all of them in one error.
 */
export function walkSource(source: string, isExcluded: PathMatcher, options: WalkOptions = {}): WalkResult {
    const policy = options.symlinks ?? "preserve";
    let top: fs.Stats;
    try {
        top = fs.statSync(source);
    } catch (err) {
        throw new SourceError(`source ${JSON.stringify(source)} does not exist or cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a local directory or file, relative to the Pulumi program or absolute`);
    }
    if (top.isFile()) {
        return { kind: "file", files: [walked(path.basename(source), path.resolve(source), top)], links: [], dirs: [] };
    }
    if (!top.isDirectory()) throw new SourceError(`source ${JSON.stringify(source)} is neither a directory nor a regular file`);
    const files: WalkedFile[] = [];
    const links: WalkedLink[] = [];
    const dirs: WalkedDir[] = [];
    const refusals: Refusal[] = [];
    // Folders on the current path (device:inode), so that a followed link cannot loop.
    const open = new Set<string>();
    const root = path.resolve(source);
    const list = <T>(dirAbs: string, read: () => T): T => {
        try {
            return read();
        } catch (err) {
            throw new SourceError(`failed to list ${dirAbs} under source: ${(err as Error).message}`);
        }
    };
    const symlink = (rel: string, abs: string): boolean => {
        const target = fs.readlinkSync(abs);
        if (policy === "preserve") {
            links.push({ path: rel, absPath: abs, target });
            return true;
        }
        if (policy === "refuse") {
            refusals.push({ path: rel, shown: `${rel} -> ${target}`, why: 'a symlink (symlinks: "refuse"); or set symlinks to "preserve" or "follow"' });
            return false;
        }
        let st: fs.Stats;
        try {
            st = fs.statSync(abs);
        } catch {
            refusals.push({ path: rel, shown: `${rel} -> ${target}`, why: 'a symlink to nothing (symlinks: "follow"); or fix its target, or set symlinks to "preserve"' });
            return false;
        }
        if (st.isFile()) files.push(walked(rel, abs, st));
        else if (st.isDirectory()) {
            // Number inodes, as the walk's stats are: a collision would need two inodes 2^53 apart on one device.
            if (open.has(`${st.dev}:${st.ino}`)) {
                refusals.push({ path: rel, shown: `${rel} -> ${target}`, why: 'a symlink to a folder that holds it, a loop (symlinks: "follow"); or set symlinks to "preserve"' });
                return false;
            }
            visit(abs, rel);
        } else {
            refusals.push({ path: rel, shown: `${rel} -> ${target}`, why: "a symlink to a special file (socket, fifo or device)" });
            return false;
        }
        return true;
    };
    /** True when something under the source was listed for this name. */
    const entry = (dirAbs: string, dirRel: string, name: string, d: fs.Dirent<string | Buffer>): boolean => {
        const rel = dirRel ? `${dirRel}/${name}` : name;
        // The dirent's type (no extra syscall) is all exclusion needs: `dir/` patterns match folders only.
        const isDir = d.isDirectory();
        if (isExcluded(rel, isDir)) return false;
        if (/[\n\r]/.test(name)) {
            refusals.push({ path: rel, shown: JSON.stringify(rel), why: "a name with a line break, which manifests cannot carry; or rename it" });
            return false;
        }
        const abs = path.join(dirAbs, name);
        if (isDir) {
            visit(abs, rel);
            return true;
        }
        const st = fs.lstatSync(abs);
        if (st.isFile()) files.push(walked(rel, abs, st));
        else if (st.isDirectory()) visit(abs, rel);
        else if (st.isSymbolicLink()) return symlink(rel, abs);
        else {
            refusals.push({ path: rel, shown: rel, why: "a special file (socket, fifo or device)" });
            return false;
        }
        return true;
    };
    const visit = (dirAbs: string, dirRel: string): void => {
        const st = list(dirAbs, () => fs.statSync(dirAbs));
        const me = `${st.dev}:${st.ino}`;
        open.add(me);
        const dir: WalkedDir | undefined = dirRel ? { path: dirRel, absPath: dirAbs, mode: st.mode & 0o7777, empty: true } : undefined;
        if (dir) dirs.push(dir);
        let listed = 0;
        // Names are read as UTF-8, which turns other bytes into U+FFFD; only a
        // folder that shows one is read again as bytes, to tell a real U+FFFD
        // from a name that is not UTF-8 (which no path string could open).
        let lossy = false;
        for (const d of list(dirAbs, () => fs.readdirSync(dirAbs, { withFileTypes: true }))) {
            if (d.name.includes("\uFFFD")) lossy = true;
            else if (entry(dirAbs, dirRel, d.name, d)) listed++;
        }
        const done = () => {
            open.delete(me);
            if (dir) dir.empty = listed === 0;
        };
        if (!lossy) return done();
        for (const d of list(dirAbs, () => fs.readdirSync(dirAbs, { withFileTypes: true, encoding: "buffer" }))) {
            const name = d.name.toString("utf8");
            if (!name.includes("\uFFFD")) continue;
            if (Buffer.from(name, "utf8").equals(d.name)) {
                if (entry(dirAbs, dirRel, name, d)) listed++;
                continue;
            }
            const rel = dirRel ? `${dirRel}/${name}` : name;
            if (isExcluded(rel, d.isDirectory())) continue;
            const shown = quoteBytes(Buffer.concat([Buffer.from(dirRel ? `${dirRel}/` : ""), d.name]));
            refusals.push({ path: rel, shown, why: `a name that is not UTF-8; or rename it (the exclude pattern for it is ${literalPattern(rel)})` });
        }
        done();
    };
    visit(root, "");
    if (refusals.length) throw new SourceError(refusalMessage(source, refusals));
    return { kind: "dir", files, links, dirs };
}
