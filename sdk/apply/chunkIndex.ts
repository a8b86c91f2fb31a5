import { CHUNKING_THRESHOLD, decodeChunks, encodeChunks, loadChunks, storeChunks } from "../manifest";
import type { Chunk, Manifest, ManifestDelta, ManifestEntry } from "../manifest";
import type { Transport } from "../transport";
import { HostLayout, hostChunkListPath, stampPath, targetPath } from "./layout";
import { forEachLimit } from "./pool";
import { decodeStamp, encodeStamp, StampLookup } from "./stamp";

/** Small files on the host, many at a time. */
const IN_FLIGHT = 16;

function isLarge(e: ManifestEntry | undefined): e is ManifestEntry {
    return e !== undefined && e.size >= CHUNKING_THRESHOLD;
}

function sizeOf(chunks: readonly Chunk[]): number {
    return chunks.length ? chunks[chunks.length - 1].offset + chunks[chunks.length - 1].length : 0;
}

/**
 * What patching large files needs beyond Pulumi state, for one destination:
 * each deployed large version's chunk list (by file hash) and each large
 * path's size + mtime after commit (see {@link HostLayout.chunks}). The
 * runner's cache is tried first; the host's copies let a runner with an
 * empty cache (a fresh CI machine, a teammate) patch too. Use it only under
 * the destination's lock.
 */
export class LargeFileIndex {
    /** Chunk lists of versions staged by this deployment, encoded, by sha256: written to the host once they are in place. */
    private readonly staged = new Map<string, Buffer>();

    constructor(
        readonly t: Transport,
        readonly layout: HostLayout,
    ) {}

    /**
     * The chunk list of a version deployed here: from this machine's cache,
     * else from the host (then cached here). Undefined when neither has one
     * that adds up to `size`: the file is then sent whole.
     */
    async chunksOf(sha256: string, size: number): Promise<Chunk[] | undefined> {
        const local = loadChunks(sha256);
        if (local && sizeOf(local) === size) return local;
        let fromHost: Chunk[];
        try {
            fromHost = decodeChunks(await this.t.readFile(hostChunkListPath(this.layout, sha256)));
        } catch {
            // Missing (deployed before chunk lists were kept on the host) or damaged: not a base for a patch.
            return undefined;
        }
        if (sizeOf(fromHost) !== size) return undefined;
        storeChunks(sha256, fromHost);
        return fromHost;
    }

    /** The size and mtime recorded for the large file at `target` after its last deployment. */
    async stampOf(target: string): Promise<StampLookup> {
        const p = stampPath(this.layout, target);
        if (!(await this.t.stat(p))) return { kind: "none" };
        try {
            return { kind: "found", stamp: decodeStamp((await this.t.readFile(p)).toString("utf8")) };
        } catch (err) {
            return { kind: "unreadable", why: (err as Error).message };
        }
    }

    /** Remembers the chunk list of a version being staged, for {@link afterCommit}. */
    noteChunks(sha256: string, chunks: readonly Chunk[]): void {
        this.staged.set(sha256, encodeChunks(chunks));
    }

    /**
     * Call once the delta is in place: keeps the chunk list and a stamp of
     * every large file it put, and drops the stamps of paths no longer large
     * here and the chunk lists of versions no path holds any more. Never
     * throws: the deployment is done, and a missing list or stamp only means
     * the next change to that file is sent whole.
     */
    async afterCommit(previous: Manifest | undefined, next: Manifest, delta: ManifestDelta, destination: string, log?: (line: string) => void): Promise<void> {
        const prevOf = (p: string) => (previous?.kind === "file" ? [...previous.entries.values()][0] : previous?.entries.get(p));
        const stamped = [...delta.added, ...delta.changed].filter((p) => isLarge(next.entries.get(p)));
        const stampedTargets = new Set(stamped.map((p) => targetPath(destination, next.kind, p)));
        // A path that shrank below the threshold or went: its stamp describes nothing deployed.
        const unstamped = [...delta.changed, ...delta.removed]
            .filter((p) => isLarge(prevOf(p)))
            .map((p) => targetPath(destination, next.kind, p))
            .filter((target) => !stampedTargets.has(target));
        const live = new Set([...next.entries.values()].filter(isLarge).map((e) => e.sha256));
        const dead = new Set(
            [...delta.changed, ...delta.removed]
                .map(prevOf)
                .filter(isLarge)
                .map((e) => e.sha256)
                .filter((sha) => !live.has(sha)),
        );
        const lists = [...new Set(stamped.map((p) => next.entries.get(p)!.sha256))].filter((sha) => this.staged.has(sha));
        if (stamped.length + unstamped.length + dead.size === 0) return;
        try {
            if (stamped.length) await this.t.mkdirp(this.layout.chunks, 0o700);
            await forEachLimit(lists, IN_FLIGHT, (sha) => this.t.writeFile(hostChunkListPath(this.layout, sha), this.staged.get(sha)!, 0o600));
            await forEachLimit(stamped, IN_FLIGHT, async (p) => {
                const target = targetPath(destination, next.kind, p);
                const st = await this.t.stat(target);
                if (st?.kind !== "file") return;
                await this.t.writeFile(stampPath(this.layout, target), encodeStamp({ target, sha256: next.entries.get(p)!.sha256, size: st.size, mtime: st.mtime }), 0o600);
            });
            const gone = [...unstamped.map((target) => stampPath(this.layout, target)), ...[...dead].map((sha) => hostChunkListPath(this.layout, sha))];
            await forEachLimit(gone, IN_FLIGHT, (f) => this.t.unlink(f).catch(() => undefined));
        } catch (err) {
            log?.(
                `warning: the deployment is done, but the chunk lists of its large files could not be kept under ${this.layout.chunks} on ${this.t.host} ` +
                    `(${(err as Error).message}); the next change to them is sent whole`,
            );
        }
    }
}

/** Drops every chunk list and stamp of a destination (on destroy: nothing is left to patch). */
export async function dropLargeFileIndex(t: Transport, layout: HostLayout): Promise<void> {
    await t.removeTree(layout.chunks);
}
