import * as fs from "fs";
import * as path from "path";
import { PathMatcher } from "./exclude";
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

function walked(rel: string, abs: string, st: fs.BigIntStats): WalkedFile {
    return {
        path: rel,
        absPath: abs,
        mode: Number(st.mode & 0o7777n),
        size: Number(st.size),
        mtimeMs: Number(st.mtimeMs),
        id: { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs },
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
 * Symlinks and special files are refused rather than guessed at.
 */
export function walkSource(source: string, isExcluded: PathMatcher): WalkResult {
    let top: fs.BigIntStats;
    try {
        top = fs.statSync(source, { bigint: true });
    } catch (err) {
        throw new SourceError(`source ${JSON.stringify(source)} does not exist or cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a local directory or file, relative to the Pulumi program or absolute`);
    }
    if (top.isFile()) {
        return { kind: "file", files: [walked(path.basename(source), path.resolve(source), top)] };
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
            const st = fs.lstatSync(abs, { bigint: true });
            if (st.isDirectory()) visit(abs, rel);
            else if (st.isFile()) files.push(walked(rel, abs, st));
            else if (st.isSymbolicLink()) throw new SourceError(`source holds a symlink, which is not deployed: ${rel} -> ${fs.readlinkSync(abs)}; replace it with the file it points to or add ${JSON.stringify(rel)} to exclude`);
            else throw new SourceError(`source holds a special file (socket, fifo or device): ${rel}; add it to exclude`);
        }
    };
    visit(root, "");
    return { kind: "dir", files };
}
