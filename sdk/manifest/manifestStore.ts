import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { decodeManifest, encodeManifest } from "./encode";
import { defaultCacheDir } from "./hashCache";
import { manifestDigest } from "./manifest";
import { Manifest } from "./types";

/** Manifests kept at most (the newest by use); each is ≈ 50 bytes per file. */
const MAX_MANIFESTS = 32;

function fileFor(digest: string, dir: string): string {
    return path.join(dir, "manifests", `${digest.replace(/^sha256:/, "")}.pdm`);
}

/**
 * Keeps a manifest on the runner's disk under its digest, for large trees
 * whose resource inputs carry only the digest: the provider, which runs on
 * the same machine, reads it back instead of walking the tree again.
 */
export function storeManifest(m: Manifest, dir = defaultCacheDir()): string {
    const digest = manifestDigest(m);
    const file = fileFor(digest, dir);
    try {
        if (fs.existsSync(file)) {
            // Same digest, same manifest: only mark it as recently used.
            const now = new Date();
            fs.utimesSync(file, now, now);
            return digest;
        }
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString("hex")}`;
        fs.writeFileSync(tmp, encodeManifest(m), { mode: 0o600 });
        fs.renameSync(tmp, file);
        const kept = fs
            .readdirSync(path.dirname(file))
            .filter((f) => f.endsWith(".pdm"))
            .map((f) => ({ f, t: fs.statSync(path.join(path.dirname(file), f)).mtimeMs }))
            .sort((a, b) => b.t - a.t);
        for (const { f } of kept.slice(MAX_MANIFESTS)) fs.rmSync(path.join(path.dirname(file), f), { force: true });
    } catch {
        // Not stored: the provider rebuilds it from the source.
    }
    return digest;
}

/** The manifest stored under `digest`, if it is there and really has that digest. */
export function loadStoredManifest(digest: string, dir = defaultCacheDir()): Manifest | undefined {
    try {
        const m = decodeManifest(fs.readFileSync(fileFor(digest, dir), "utf8"));
        return manifestDigest(m) === digest ? m : undefined;
    } catch {
        return undefined;
    }
}
