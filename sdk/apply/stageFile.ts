import { CHUNKING_THRESHOLD, Chunker, chunkFile, loadChunks, ManifestEntry, storeChunks } from "../manifest";
import type { Transport } from "../transport";
import { applyPatch, planPatch } from "./patch";

export interface StageRequest {
    localPath: string;
    stagedPath: string;
    /** Where the previous version lives on the host (the patch's source). */
    targetPath: string;
    entry: ManifestEntry;
    /** What the last deployment put at this path, if anything. */
    previous?: ManifestEntry;
    onBytes?: (n: number) => void;
    log?: (line: string) => void;
}

export interface StageResult {
    /** sha256 of what the host now holds in staging (checked by the caller against the manifest). */
    sha256: string;
    /** File bytes that crossed the wire. */
    bytesSent: number;
}

/**
 * Puts one file into staging. A large file whose previous version the host
 * still holds is rebuilt there from server-side copies of the unchanged
 * ranges plus the changed chunks (verified by its sha256 on the host); any
 * other file, or a patch that cannot be made, is sent whole. Chunk lists are
 * kept on this machine by file hash, computed while a large file streams out
 * so they cost no extra read.
 */
export async function stageFile(t: Transport, req: StageRequest): Promise<StageResult> {
    const { entry, previous } = req;
    if (entry.size < CHUNKING_THRESHOLD) {
        const r = await t.upload(req.localPath, req.stagedPath, entry.mode, req.onBytes);
        return { sha256: r.sha256, bytesSent: r.bytes };
    }
    const oldChunks = previous && previous.size >= CHUNKING_THRESHOLD && previous.sha256 !== entry.sha256 ? loadChunks(previous.sha256) : undefined;
    if (oldChunks && t.canCopyRanges()) {
        const onHost = await t.stat(req.targetPath);
        // A cheap drift check first; the host-side sha256 after the patch is the real one.
        if (onHost?.kind === "file" && onHost.size === previous!.size) {
            const newChunks = loadChunks(entry.sha256) ?? (await chunkFile(req.localPath));
            storeChunks(entry.sha256, newChunks);
            const r = await applyPatch(t, {
                oldPath: req.targetPath,
                stagedPath: req.stagedPath,
                localNewPath: req.localPath,
                plan: planPatch(oldChunks, newChunks),
                expectedSha256: entry.sha256,
                mode: entry.mode,
                onBytes: req.onBytes,
            });
            if (r.fallbackReason) req.log?.(`${req.targetPath}: sent whole (${r.fallbackReason})`);
            // applyPatch verified the result on the host (or what it sent, after a fallback).
            return { sha256: entry.sha256, bytesSent: r.bytesUploaded };
        }
    }
    const chunker = new Chunker();
    const r = await t.upload(req.localPath, req.stagedPath, entry.mode, req.onBytes, (data) => chunker.push(data));
    if (r.sha256 === entry.sha256) storeChunks(entry.sha256, chunker.finish());
    return { sha256: r.sha256, bytesSent: r.bytes };
}
