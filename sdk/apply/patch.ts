import type { Chunk } from "../manifest/chunking";
import { TransportError } from "../transport";
import type { ByteRange, Transport } from "../transport";

/** Largest server-side copy in one plan entry: copy-data holds its session until done. */
export const MAX_COPY_RANGE = 64 * 1024 * 1024;

/**
 * How to build a new file from an old one: every byte of the new file comes
 * either from `copies` (old file on the host → new file) or from `uploads`
 * (local new file → same offset of the new file). Together they cover
 * `[0, newSize)` exactly once, in offset order.
 */
export interface PatchPlan {
    /** Size of the old file the plan was made against (a cheap drift check). */
    oldSize: number;
    newSize: number;
    /** Server-side copies, each ≤ {@link MAX_COPY_RANGE}, adjacent chunks merged. */
    copies: ByteRange[];
    /** Ranges of the new file to send (srcOffset = dstOffset), adjacent chunks merged. */
    uploads: ByteRange[];
    copyBytes: number;
    uploadBytes: number;
}

/**
 * Plans a new file from an old one by chunk identity (sha256 + length).
 * Pure. When a chunk occurs more than once in the old file, the occurrence
 * right after the previous copy wins, so runs of unchanged chunks merge into
 * one range.
 *
 * @param oldChunks chunk list of the file the host holds, in offset order
 * @param newChunks chunk list of the local new file, in offset order
 */
export function planPatch(oldChunks: readonly Chunk[], newChunks: readonly Chunk[]): PatchPlan {
    const byHash = new Map<string, Chunk[]>();
    for (const c of oldChunks) {
        const key = `${c.sha256}:${c.length}`;
        const list = byHash.get(key);
        if (list) list.push(c);
        else byHash.set(key, [c]);
    }
    const copies: ByteRange[] = [];
    const uploads: ByteRange[] = [];
    let copyBytes = 0;
    let uploadBytes = 0;
    // The last entry added, to extend it when the next chunk continues it.
    let last: { list: ByteRange[]; range: ByteRange } | undefined;
    for (const c of newChunks) {
        const candidates = byHash.get(`${c.sha256}:${c.length}`);
        if (candidates) {
            const prev = last?.list === copies ? last.range : undefined;
            const wanted = prev ? prev.srcOffset + prev.length : -1;
            const src = candidates.find((o) => o.offset === wanted) ?? candidates[0];
            copyBytes += c.length;
            if (prev && src.offset === wanted && prev.dstOffset + prev.length === c.offset && prev.length + c.length <= MAX_COPY_RANGE) {
                prev.length += c.length;
            } else {
                const range = { srcOffset: src.offset, length: c.length, dstOffset: c.offset };
                copies.push(range);
                last = { list: copies, range };
            }
        } else {
            uploadBytes += c.length;
            const prev = last?.list === uploads ? last.range : undefined;
            if (prev && prev.dstOffset + prev.length === c.offset) prev.length += c.length;
            else {
                const range = { srcOffset: c.offset, length: c.length, dstOffset: c.offset };
                uploads.push(range);
                last = { list: uploads, range };
            }
        }
    }
    const sizeOf = (cs: readonly Chunk[]) => (cs.length ? cs[cs.length - 1].offset + cs[cs.length - 1].length : 0);
    return { oldSize: sizeOf(oldChunks), newSize: sizeOf(newChunks), copies, uploads, copyBytes, uploadBytes };
}

export interface ApplyPatchRequest {
    /** The previous version on the host (left untouched). */
    oldPath: string;
    /** Where the new version is built on the host (replaced). */
    stagedPath: string;
    /** The new version on this machine. */
    localNewPath: string;
    plan: PatchPlan;
    /** sha256 hex of the local new file (from the manifest). */
    expectedSha256: string;
    mode: number;
    onBytes?: (n: number) => void;
}

export interface ApplyPatchResult {
    /** "patch": built from copies + uploaded chunks; "upload": sent whole. */
    method: "patch" | "upload";
    /** Bytes of file content sent over the wire (chunks, or the whole file). */
    bytesUploaded: number;
    /** Bytes copied on the host (0 after a fallback). */
    bytesCopied: number;
    /** Why the patch was abandoned for a whole-file upload. */
    fallbackReason?: string;
}

/**
 * Builds the new version of a file at `stagedPath` on the host from
 * server-side copies of the old version plus uploaded new chunks, then
 * checks its sha256 on the host. Falls back to sending the whole file when
 * the transport cannot copy ranges, the host refuses a copy, the old file's
 * size is not what the plan expects, the host cannot hash
 * ({@link Transport.sha256} undefined), or the hash differs (the old file
 * drifted on the host). The staged file is never left with wrong bytes:
 * either its hash was verified on the host or it was sent whole and the
 * bytes sent hashed to `expectedSha256`; otherwise this throws.
 */
export async function applyPatch(t: Transport, req: ApplyPatchRequest): Promise<ApplyPatchResult> {
    const { stagedPath, localNewPath, plan, expectedSha256, mode, onBytes } = req;
    let sent = 0;
    const count = (n: number) => {
        sent += n;
        onBytes?.(n);
    };
    const fallbackReason = await tryPatch(t, req, count);
    if (fallbackReason === undefined) return { method: "patch", bytesUploaded: sent, bytesCopied: plan.copyBytes };
    const r = await t.upload(localNewPath, stagedPath, mode, count);
    if (r.sha256 !== expectedSha256) {
        throw new TransportError(
            "upload",
            `${localNewPath} to ${stagedPath}`,
            t.host,
            `the local file changed while deploying (sha256 ${r.sha256}, manifest says ${expectedSha256}); run the deployment again`,
        );
    }
    return { method: "upload", bytesUploaded: sent, bytesCopied: 0, fallbackReason };
}

/** Undefined when the staged file was built and verified; otherwise why not. */
async function tryPatch(t: Transport, req: ApplyPatchRequest, count: (n: number) => void): Promise<string | undefined> {
    const { oldPath, stagedPath, localNewPath, plan, expectedSha256, mode } = req;
    if (!t.canCopyRanges()) return `${t.host} cannot copy file ranges (no SFTP copy-data)`;
    const old = await t.stat(oldPath);
    if (!old || old.kind !== "file" || old.size !== plan.oldSize) {
        return `${oldPath} on ${t.host} is ${old ? `${old.kind} of ${old.size} bytes` : "missing"}, expected a ${plan.oldSize}-byte file`;
    }
    // Truncate (or create) with the final mode, then fill: ranges never truncate.
    await t.writeFile(stagedPath, Buffer.alloc(0), mode);
    // Copies run on their own SFTP session, so uploads proceed meanwhile.
    // allSettled, not all: a fallback upload must not start while the other
    // half still writes into the staged file.
    const done = await Promise.allSettled([t.copyRanges(oldPath, stagedPath, plan.copies), t.writeRanges(localNewPath, stagedPath, plan.uploads, count)]);
    const failed = done.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) return `patching failed: ${(failed.reason as Error).message ?? String(failed.reason)}`;
    const staged = await t.stat(stagedPath);
    if (!staged || staged.size !== plan.newSize) return `patched ${stagedPath} has ${staged?.size} bytes, expected ${plan.newSize}`;
    const actual = await t.sha256(stagedPath);
    if (actual === undefined) return `${t.host} has neither openssl nor sha256sum to verify the patched file`;
    if (actual !== expectedSha256) return `patched ${stagedPath} hashes to ${actual}, expected ${expectedSha256} (${oldPath} changed on the host?)`;
    return undefined;
}
