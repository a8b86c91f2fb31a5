import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

/**
 * Writes a cache file under a temporary name and renames it into place, so
 * that two programs running at once each see a whole file (the last writer
 * wins; both wrote the same kind of content).
 */
export function writeCacheFile(file: string, data: string | Buffer): void {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString("hex")}`;
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, file);
}

/**
 * Bounds a cache folder: of the files ending in `suffix`, keeps the most
 * recently written (or touched) `maxFiles`, and no more than `maxBytes` in
 * all; the rest go.
 */
export function keepNewest(dir: string, suffix: string, maxFiles: number, maxBytes = Number.POSITIVE_INFINITY): void {
    const files = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(suffix))
        .map((f) => {
            const st = fs.statSync(path.join(dir, f));
            return { f, mtimeMs: st.mtimeMs, size: st.size };
        })
        .sort((a, b) => b.mtimeMs - a.mtimeMs);
    let bytes = 0;
    files.forEach((e, i) => {
        bytes += e.size;
        if (i >= maxFiles || bytes > maxBytes) fs.rmSync(path.join(dir, e.f), { force: true });
    });
}
