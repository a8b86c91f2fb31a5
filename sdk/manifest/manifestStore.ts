import * as fs from "fs";
import * as path from "path";
import { keepNewest, writeCacheFile } from "./cacheFiles";
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
        writeCacheFile(file, encodeManifest(m));
        keepNewest(path.dirname(file), ".pdm", MAX_MANIFESTS);
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
