import * as fs from "fs";
import * as path from "path";
import { PathMatcher } from "./exclude";

/** One regular file found under a source. */
export interface WalkedFile {
    /** Relative POSIX path (the base name when the source is a single file). */
    path: string;
    absPath: string;
    mode: number;
    size: number;
    mtimeMs: number;
}

export interface WalkResult {
    kind: "dir" | "file";
    files: WalkedFile[];
}

export class SourceError extends Error {}

/**
 * Lists the regular files of a source directory (or the source file itself).
 * Synchronous readdir + lstat: 4-5x faster than promise-based walks here.
 * Symlinks and special files are refused rather than guessed at.
 */
export function walkSource(source: string, isExcluded: PathMatcher): WalkResult {
    let top: fs.Stats;
    try {
        top = fs.statSync(source);
    } catch (err) {
        throw new SourceError(`source ${JSON.stringify(source)} does not exist or cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a local directory or file, relative to the Pulumi program or absolute`);
    }
    if (top.isFile()) {
        return { kind: "file", files: [{ path: path.basename(source), absPath: path.resolve(source), mode: top.mode & 0o7777, size: top.size, mtimeMs: top.mtimeMs }] };
    }
    if (!top.isDirectory()) throw new SourceError(`source ${JSON.stringify(source)} is neither a directory nor a regular file`);
    const files: WalkedFile[] = [];
    const root = path.resolve(source);
    const visit = (dirAbs: string, dirRel: string) => {
        let names: string[];
        try {
            names = fs.readdirSync(dirAbs);
        } catch (err) {
            throw new SourceError(`failed to list ${dirAbs} under source: ${(err as Error).message}`);
        }
        for (const name of names) {
            const rel = dirRel ? `${dirRel}/${name}` : name;
            if (isExcluded(rel)) continue;
            if (/[\n\r]/.test(name)) throw new SourceError(`source holds a path with a line break, which manifests cannot carry: ${JSON.stringify(rel)}; rename it or add it to exclude`);
            const abs = path.join(dirAbs, name);
            const st = fs.lstatSync(abs);
            if (st.isDirectory()) visit(abs, rel);
            else if (st.isFile()) files.push({ path: rel, absPath: abs, mode: st.mode & 0o7777, size: st.size, mtimeMs: st.mtimeMs });
            else if (st.isSymbolicLink()) throw new SourceError(`source holds a symlink, which is not deployed: ${rel} -> ${fs.readlinkSync(abs)}; replace it with the file it points to or add ${JSON.stringify(rel)} to exclude`);
            else throw new SourceError(`source holds a special file (socket, fifo or device): ${rel}; add it to exclude`);
        }
    };
    visit(root, "");
    return { kind: "dir", files };
}
