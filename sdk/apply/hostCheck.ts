import * as crypto from "crypto";
import { linkSha256, ManifestEntry } from "../manifest";
import type { RemoteStat, Transport } from "../transport";
import { forEachLimit } from "./pool";

/** lstats in flight: cheap requests that SFTP pipelines on one session (and the sudo transport batches). */
export const STATS_IN_FLIGHT = 64;
/** Hashes in flight one by one: SSH answers them in order from one hashing shell, so more would only queue there. */
const HASHES_IN_FLIGHT = 16;
/** Paths per batched host hash (one exec each), and batches at once: each holds one SSH session while it runs. */
const HASH_BATCH = 1000;
const HASH_BATCHES_IN_FLIGHT = 2;
/** Without a hashing tool on the host, files up to this size are read back and hashed here; larger ones stay unknown. */
const READ_BACK_LIMIT = 64 * 1024 * 1024;

/**
 * What a deployed path holds on the host against the entry it should hold:
 * - `same`: the size and the mtime recorded at commit match (no hash), and the mode;
 * - `touched`: the mtime moved but the content hashes the same, and the mode matches;
 * - `mode`: the same content, another mode;
 * - `content`: other content (whatever the mode);
 * - `missing`: nothing there, or no longer a path of the entry's kind (a regular file, a symlink, a folder).
 *
 * A symlink's content is its target text (readlink, never followed); a
 * folder has only a mode, and its mtime is never drift.
 */
export type HostState = "same" | "touched" | "mode" | "content" | "missing";

export interface HostFileState {
    state: HostState;
    /** What lstat said; absent when nothing is at the path. */
    stat?: RemoteStat;
    /** The host content's sha256 when known: hashed, or equal to the wanted entry's. Absent for `content` the host could not (or need not) hash. */
    sha256?: string;
    /** The mtime differs from the one recorded at commit (or none was recorded). */
    mtimeMoved: boolean;
    /** For a symlink entry found as a symlink: its target text on the host. */
    linkTarget?: string;
}

/** One path to check: where it is, what it should hold, and the mtime the host gave it at commit (undefined when unknown: the content is then hashed). */
export interface HostFileQuery {
    target: string;
    want: ManifestEntry;
    committedMtime: number | undefined;
}

/** What a check cost, for the caller's counts. */
export interface CheckCounts {
    /** lstat requests (one per path). */
    stats: number;
    /** Files hashed on the host (in batches where the transport has them). */
    hashes: number;
}

/**
 * The verdict one lstat allows, or "hash" when only the content can tell:
 * the size or mtime moved (with `describe`, even where a size alone already
 * says the content differs, so the result can name the host's content).
 * An unchanged host therefore costs no hash.
 */
export function judgeByStat(st: RemoteStat | undefined, q: HostFileQuery, describe: boolean): HostFileState | "hash" {
    if (!st || st.kind !== "file") return { state: "missing", stat: st, mtimeMoved: false };
    const mtimeMoved = q.committedMtime === undefined || st.mtime !== q.committedMtime;
    if (st.size !== q.want.size) return describe ? "hash" : { state: "content", stat: st, mtimeMoved };
    if (mtimeMoved) return "hash";
    return { state: st.mode === q.want.mode ? "same" : "mode", stat: st, sha256: q.want.sha256, mtimeMoved };
}

/** The verdict once the host's content hash is known (undefined: the host could not hash it, so it counts as changed). */
export function judgeByHash(st: RemoteStat, q: HostFileQuery, sha256: string | undefined): HostFileState {
    const mtimeMoved = q.committedMtime === undefined || st.mtime !== q.committedMtime;
    if (sha256 === undefined || sha256 !== q.want.sha256 || st.size !== q.want.size) return { state: "content", stat: st, sha256, mtimeMoved };
    return { state: st.mode === q.want.mode ? (mtimeMoved ? "touched" : "same") : "mode", stat: st, sha256, mtimeMoved };
}

/**
 * sha256 of a host file, computed on the host; without a tool there
 * (neither openssl nor sha256sum), small files are read back and hashed
 * here. Undefined when neither works.
 */
export async function hostSha256(t: Transport, p: string, size: number): Promise<string | undefined> {
    const hex = await t.sha256(p);
    if (hex !== undefined || size > READ_BACK_LIMIT) return hex;
    return crypto.createHash("sha256").update(await t.readFile(p)).digest("hex");
}

/**
 * Checks many deployed paths on the host: one lstat each (many in flight),
 * then a host hash only for those whose size or mtime moved. The hashing
 * shell (where the transport has one) is opened only when something needs
 * hashing. Answers in the order of `queries`.
 */
export async function checkHostFiles(t: Transport, queries: readonly HostFileQuery[], options: { describe: boolean; counts?: CheckCounts }): Promise<HostFileState[]> {
    const counts = options.counts ?? { stats: 0, hashes: 0 };
    const out: (HostFileState | undefined)[] = new Array(queries.length);
    const toHash: { i: number; st: RemoteStat }[] = [];
    await forEachLimit(queries, STATS_IN_FLIGHT, async (q, i) => {
        counts.stats++;
        const st = await t.stat(q.target);
        if (q.want.type === "dir") {
            out[i] = st?.kind !== "dir" ? { state: "missing", stat: st, mtimeMoved: false } : { state: st.mode === q.want.mode ? "same" : "mode", stat: st, sha256: q.want.sha256, mtimeMoved: false };
            return;
        }
        if (q.want.type === "symlink") {
            if (st?.kind !== "symlink") {
                out[i] = { state: "missing", stat: st, mtimeMoved: false };
                return;
            }
            const linkTarget = await t.readlink(q.target);
            const sha256 = linkSha256(linkTarget);
            const mtimeMoved = q.committedMtime === undefined || st.mtime !== q.committedMtime;
            out[i] = sha256 === q.want.sha256 ? { state: mtimeMoved ? "touched" : "same", stat: st, sha256, mtimeMoved } : { state: "content", stat: st, sha256, mtimeMoved, linkTarget };
            return;
        }
        const v = judgeByStat(st, q, options.describe);
        if (v === "hash") toHash.push({ i, st: st! });
        else out[i] = v;
    });
    if (!toHash.length) return out as HostFileState[];
    counts.hashes += toHash.length;
    // Batched where the transport can (one process for many files, not one each); what a batch left out goes one by one.
    let single = toHash;
    if (t.sha256Many) {
        const batches: (typeof toHash)[] = [];
        for (let k = 0; k < toHash.length; k += HASH_BATCH) batches.push(toHash.slice(k, k + HASH_BATCH));
        single = [];
        await forEachLimit(batches, HASH_BATCHES_IN_FLIGHT, async (batch) => {
            const got = await t.sha256Many!(batch.map(({ i }) => queries[i].target));
            for (const b of batch) {
                const hex = got.get(queries[b.i].target);
                if (hex === undefined) single.push(b);
                else out[b.i] = judgeByHash(b.st, queries[b.i], hex);
            }
        });
    }
    if (single.length) t.prepareSha256?.();
    await forEachLimit(single, HASHES_IN_FLIGHT, async ({ i, st }) => {
        try {
            out[i] = judgeByHash(st, queries[i], await hostSha256(t, queries[i].target, st.size));
        } catch (err) {
            // Gone (or replaced) since its lstat, as a file removed while we look: that is what it is now.
            const now = await t.stat(queries[i].target);
            if (now?.kind === "file") throw err;
            out[i] = { state: "missing", stat: now, mtimeMoved: false };
        }
    });
    return out as HostFileState[];
}
