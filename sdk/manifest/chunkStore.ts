import * as fs from "fs";
import * as path from "path";
import { keepNewest, writeCacheFile } from "./cacheFiles";
import { Chunk } from "./chunking";
import { defaultCacheDir } from "./hashCache";

const MAGIC = Buffer.from("pdc1");
/** Chunk lists kept on the runner at most (the newest by use): ≈ 130 KB per 256 MiB file. */
const MAX_LISTS = 512;

/** A chunk list as bytes: magic, count, then per chunk its length (varint) and sha256; offsets follow from the lengths. */
export function encodeChunks(chunks: readonly Chunk[]): Buffer {
    const parts: Buffer[] = [MAGIC];
    const varint = (n: number) => {
        const b: number[] = [];
        while (n >= 0x80) {
            b.push((n % 0x80) | 0x80);
            n = Math.floor(n / 0x80);
        }
        b.push(n);
        parts.push(Buffer.from(b));
    };
    varint(chunks.length);
    for (const c of chunks) {
        varint(c.length);
        parts.push(Buffer.from(c.sha256, "hex"));
    }
    return Buffer.concat(parts);
}

export function decodeChunks(buf: Buffer): Chunk[] {
    if (!buf.subarray(0, 4).equals(MAGIC)) throw new Error("not a pulumi-delta chunk list");
    let pos = 4;
    const varint = () => {
        let n = 0;
        let scale = 1;
        for (;;) {
            if (pos >= buf.length) throw new Error("truncated chunk list");
            const b = buf[pos++];
            n += (b & 0x7f) * scale;
            if (b < 0x80) return n;
            scale *= 0x80;
        }
    };
    const count = varint();
    const out: Chunk[] = [];
    let offset = 0;
    for (let i = 0; i < count; i++) {
        const length = varint();
        if (pos + 32 > buf.length) throw new Error("truncated chunk list");
        out.push({ offset, length, sha256: buf.subarray(pos, pos + 32).toString("hex") });
        pos += 32;
        offset += length;
    }
    return out;
}

function fileFor(sha256: string, dir: string): string {
    return path.join(dir, "chunks", `${sha256}.pdc`);
}

/** The chunk list of the file whose content hashes to `sha256`, from the runner's cache. */
export function loadChunks(sha256: string, dir = defaultCacheDir()): Chunk[] | undefined {
    try {
        return decodeChunks(fs.readFileSync(fileFor(sha256, dir)));
    } catch {
        return undefined;
    }
}

export function storeChunks(sha256: string, chunks: readonly Chunk[], dir = defaultCacheDir()): void {
    const file = fileFor(sha256, dir);
    try {
        writeCacheFile(file, encodeChunks(chunks));
        keepNewest(path.dirname(file), ".pdc", MAX_LISTS);
    } catch {
        // Not cached: the next patch of this file re-chunks or reads the host's copy.
    }
}
