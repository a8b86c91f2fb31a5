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

export interface WalkResult {
    kind: "dir" | "file";
    files: WalkedFile[];
}

export class SourceError extends Error {}

/**
 * Lists the regular files of a source directory (or the source file itself).
 * Synchronous readdir + lstat: 4-5x faster than promise-based walks here.
 * Symlinks, special files and names a manifest cannot carry are refused
 * rather than guessed at, all of them in one error.
 */
export function walkSource(source: string, isExcluded: PathMatcher): WalkResult {
    let top: fs.Stats;
    try {
        top = fs.statSync(source);
    } catch (err) {
        throw new SourceError(`source ${JSON.stringify(source)} does not exist or cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a local directory or file, relative to the Pulumi program or absolute`);
    }
    if (top.isFile()) {
        return { kind: "file", files: [walked(path.basename(source), path.resolve(source), top)] };
    }
    if (!top.isDirectory()) throw new SourceError(`source ${JSON.stringify(source)} is neither a directory nor a regular file`);
    const files: WalkedFile[] = [];
    const refusals: Refusal[] = [];
    const root = path.resolve(source);
    const list = <T>(dirAbs: string, read: () => T): T => {
        try {
            return read();
        } catch (err) {
            throw new SourceError(`failed to list ${dirAbs} under source: ${(err as Error).message}`);
        }
    };
    const entry = (dirAbs: string, dirRel: string, name: string, d: fs.Dirent<string | Buffer>) => {
        const rel = dirRel ? `${dirRel}/${name}` : name;
        // The dirent's type (no extra syscall) is all exclusion needs: `dir/` patterns match folders only.
        const isDir = d.isDirectory();
        if (isExcluded(rel, isDir)) return;
        if (/[\n\r]/.test(name)) {
            refusals.push({ path: rel, shown: JSON.stringify(rel), why: "a name with a line break, which manifests cannot carry; or rename it" });
            return;
        }
        const abs = path.join(dirAbs, name);
        if (isDir) return visit(abs, rel);
        const st = fs.lstatSync(abs);
        if (st.isFile()) files.push(walked(rel, abs, st));
        else if (st.isDirectory()) visit(abs, rel);
        else if (st.isSymbolicLink()) refusals.push({ path: rel, shown: `${rel} -> ${fs.readlinkSync(abs)}`, why: "a symlink; or replace it with the file it points to" });
        else refusals.push({ path: rel, shown: rel, why: "a special file (socket, fifo or device)" });
    };
    const visit = (dirAbs: string, dirRel: string): void => {
        // Names are read as UTF-8, which turns other bytes into U+FFFD; only a
        // folder that shows one is read again as bytes, to tell a real U+FFFD
        // from a name that is not UTF-8 (which no path string could open).
        let lossy = false;
        for (const d of list(dirAbs, () => fs.readdirSync(dirAbs, { withFileTypes: true }))) {
            if (d.name.includes("\uFFFD")) lossy = true;
            else entry(dirAbs, dirRel, d.name, d);
        }
        if (!lossy) return;
        for (const d of list(dirAbs, () => fs.readdirSync(dirAbs, { withFileTypes: true, encoding: "buffer" }))) {
            const name = d.name.toString("utf8");
            if (!name.includes("\uFFFD")) continue;
            if (Buffer.from(name, "utf8").equals(d.name)) {
                entry(dirAbs, dirRel, name, d);
                continue;
            }
            const rel = dirRel ? `${dirRel}/${name}` : name;
            if (isExcluded(rel, d.isDirectory())) continue;
            const shown = quoteBytes(Buffer.concat([Buffer.from(dirRel ? `${dirRel}/` : ""), d.name]));
            refusals.push({ path: rel, shown, why: `a name that is not UTF-8; or rename it (the exclude pattern for it is ${literalPattern(rel)})` });
        }
    };
    visit(root, "");
    if (refusals.length) throw new SourceError(refusalMessage(source, refusals));
    return { kind: "dir", files };
}
