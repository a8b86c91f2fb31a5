import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

/** What a test compares byte for byte: every entry under a directory. */
export interface EntrySnapshot {
    kind: "file" | "dir" | "other";
    mode: string;
    sha256?: string;
    ino: number;
    mtimeMs: number;
}

export type TreeSnapshot = Record<string, EntrySnapshot>;

/** Every path under `root` (relative), with kind, mode, content hash, inode and mtime. Empty object when root is absent. */
export function snapshot(root: string): TreeSnapshot {
    const out: TreeSnapshot = {};
    if (!fs.existsSync(root)) return out;
    const visit = (dir: string, rel: string) => {
        for (const name of fs.readdirSync(dir).sort()) {
            const abs = path.join(dir, name);
            const r = rel ? `${rel}/${name}` : name;
            const st = fs.lstatSync(abs);
            const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
            if (st.isDirectory()) {
                out[r] = { kind: "dir", mode, ino: st.ino, mtimeMs: st.mtimeMs };
                visit(abs, r);
            } else if (st.isFile()) {
                out[r] = { kind: "file", mode, sha256: crypto.createHash("sha256").update(fs.readFileSync(abs)).digest("hex"), ino: st.ino, mtimeMs: st.mtimeMs };
            } else out[r] = { kind: "other", mode, ino: st.ino, mtimeMs: st.mtimeMs };
        }
    };
    visit(root, "");
    return out;
}

/** The snapshot without inode and mtime: what "the same content" means. */
export function contentOf(s: TreeSnapshot): Record<string, string> {
    return Object.fromEntries(Object.entries(s).map(([p, e]) => [p, `${e.kind} ${e.mode}${e.sha256 ? " " + e.sha256 : ""}`]));
}

/** Files only, as path → "mode sha256": comparable between a source and a destination. */
export function filesOf(root: string): Record<string, string> {
    return Object.fromEntries(
        Object.entries(snapshot(root))
            .filter(([, e]) => e.kind === "file")
            .map(([p, e]) => [p, `${e.mode} ${e.sha256}`]),
    );
}

export type TreeSpec = Record<string, string | { content: string | Buffer; mode?: number }>;

/** Writes files (creating folders) under `root`. */
export function writeTree(root: string, spec: TreeSpec): void {
    for (const [rel, v] of Object.entries(spec)) {
        const abs = path.join(root, rel);
        fs.mkdirSync(path.dirname(abs), { recursive: true });
        const content = typeof v === "string" ? v : v.content;
        fs.writeFileSync(abs, content);
        if (typeof v !== "string" && v.mode !== undefined) fs.chmodSync(abs, v.mode);
    }
}

/** Makes `root` hold exactly `spec` (removing everything else). */
export function resetTree(root: string, spec: TreeSpec): void {
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(root, { recursive: true });
    writeTree(root, spec);
}

export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(fs.realpathSync(require("os").tmpdir()), prefix));
}
