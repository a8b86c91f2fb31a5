import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { filesOf } from "./tree";

/**
 * A host tree as the workflow tests compare it: every file and folder with
 * its mode, owner and group, and for files the content hash and mtime.
 */
export interface HostEntry {
    kind: "file" | "dir" | "other";
    mode: string;
    uid: number;
    gid: number;
    /** Whole milliseconds; folders' mtimes change with their entries, so they are not compared. */
    mtimeMs: number;
    ino: number;
    sha256?: string;
}

export type HostSnapshot = Record<string, HostEntry>;

/** Every path under `root` (relative, folders included). Empty when root is absent. */
export function hostSnapshot(root: string): HostSnapshot {
    const out: HostSnapshot = {};
    if (!fs.existsSync(root)) return out;
    const visit = (dir: string, rel: string) => {
        for (const name of fs.readdirSync(dir).sort()) {
            const abs = path.join(dir, name);
            const r = rel ? `${rel}/${name}` : name;
            const st = fs.lstatSync(abs);
            const kind = st.isDirectory() ? "dir" : st.isFile() ? "file" : "other";
            out[r] = { kind, mode: (st.mode & 0o7777).toString(8).padStart(4, "0"), uid: st.uid, gid: st.gid, mtimeMs: Math.round(st.mtimeMs), ino: st.ino };
            if (kind === "file") out[r].sha256 = crypto.createHash("sha256").update(fs.readFileSync(abs)).digest("hex");
            if (kind === "dir") visit(abs, r);
        }
    };
    visit(root, "");
    return out;
}

/** A file to plant on the host before any deployment: content, mode, owner and an old mtime. */
export interface PlantedFile {
    content: string | Buffer;
    mode: number;
    /** uid:gid; default 65534:65534 (nobody:nogroup). */
    uid?: number;
    gid?: number;
    /** Seconds since the epoch. Default: 2021-01-02T03:04:05Z. */
    mtime?: number;
}

/** Folders to create first (relative path → mode), owned like the files. */
export type PlantedDirs = Record<string, number>;

export const NOBODY = 65534;
const OLD_MTIME = Date.UTC(2021, 0, 2, 3, 4, 5) / 1000;

/** Writes the host's pre-deployment tree: folders, then files with their modes, owners and mtimes. */
export function plantHost(root: string, dirs: PlantedDirs, files: Record<string, PlantedFile>): void {
    fs.mkdirSync(root, { recursive: true });
    for (const [rel, mode] of Object.entries(dirs)) {
        const abs = path.join(root, rel);
        fs.mkdirSync(abs, { recursive: true });
        fs.chmodSync(abs, mode);
        fs.chownSync(abs, NOBODY, NOBODY);
    }
    for (const [rel, f] of Object.entries(files)) {
        const abs = path.join(root, rel);
        fs.mkdirSync(path.dirname(abs), { recursive: true });
        fs.writeFileSync(abs, f.content);
        fs.chmodSync(abs, f.mode);
        fs.chownSync(abs, f.uid ?? NOBODY, f.gid ?? NOBODY);
        const t = f.mtime ?? OLD_MTIME;
        fs.utimesSync(abs, t, t);
    }
}

/** A deployed source as it should appear on the host: at `at` (relative to the host root), the files of `source`. */
export interface Overlay {
    at: string;
    source: string;
}

/**
 * What a path should look like, as a line: untouched paths with everything
 * (kind, mode, owner, file mtime and hash), deployed files with their mode
 * and hash (the deployment writes them, so they are new files), folders a
 * deployment created only as existing.
 */
type Expected = Record<string, string>;

/** An entry with everything a deployment must leave as it was. */
export function untouched(e: HostEntry): string {
    return e.kind === "file" ? `file ${e.mode} ${e.uid}:${e.gid} mtime=${e.mtimeMs} sha256=${e.sha256}` : `${e.kind} ${e.mode} ${e.uid}:${e.gid}`;
}

/** The host the tests expect: `before` with each overlay's files laid over it, later overlays winning. */
export function expectedHost(before: HostSnapshot, overlays: Overlay[]): Expected {
    const out: Expected = Object.fromEntries(Object.entries(before).map(([p, e]) => [p, untouched(e)]));
    for (const o of overlays) {
        for (const [rel, modeHash] of Object.entries(filesOf(o.source))) {
            const p = path.posix.join(o.at, rel);
            const [mode, sha256] = modeHash.split(" ");
            out[p] = `file ${mode} sha256=${sha256} (deployed)`;
            for (let d = path.posix.dirname(p); d !== "." && !(d in out); d = path.posix.dirname(d)) out[d] = "dir (created)";
        }
    }
    return out;
}

/** The host as it is, each path described with only what `expected` says of it (extra paths in full). */
function actualHost(root: string, expected: Expected): Expected {
    const out: Expected = {};
    for (const [p, e] of Object.entries(hostSnapshot(root))) {
        const want = expected[p];
        if (want === "dir (created)" && e.kind === "dir") out[p] = want;
        else if (want?.endsWith(" (deployed)") && e.kind === "file") out[p] = `file ${e.mode} sha256=${e.sha256} (deployed)`;
        else out[p] = untouched(e);
    }
    return out;
}

/** Asserts the host under `root` is `before` with `overlays` deployed over it, and nothing else. */
export function assertHost(root: string, before: HostSnapshot, overlays: Overlay[], message: string): void {
    const expected = expectedHost(before, overlays);
    assert.deepStrictEqual(actualHost(root, expected), expected, message);
}

/** Asserts the host is exactly `before`: every file's bytes, mode, owner and mtime, every folder's mode and owner, nothing more. */
export function assertRestored(root: string, before: HostSnapshot, message: string): void {
    assertHost(root, before, [], message);
}

/** Everything under `stateDir` that is not a destination folder's `records/` (or the folder holding it). */
export function stateLeftovers(stateDir: string): string[] {
    return Object.keys(hostSnapshot(stateDir)).filter((p) => {
        const parts = p.split("/");
        return !(parts.length === 1 || parts[1] === "records");
    });
}
