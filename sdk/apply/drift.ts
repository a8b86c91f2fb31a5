import * as path from "path";
import { comparePaths } from "../manifest";
import type { Transport } from "../transport";
import { checkHostFiles, CheckCounts, HostFileQuery } from "./hostCheck";
import { checkStateRootApart, layoutFor, resolveStateRoot, targetPath } from "./layout";
import { decodeLedger, OwnerId } from "./ledger";

export interface DriftRequest {
    /** Absolute path of the destination on the host, as deployed. */
    destination: string;
    /** The state root the deployment used. Default: as deploy's default (by user). */
    stateDir?: string;
    /** Whose deployed paths to check: the resource's instance id (or its whole identity). */
    identity: string | Pick<OwnerId, "instance">;
    /** For a single-file deployment, the manifest path to report the file under (the source file's base name). Default: the destination's base name. */
    fileName?: string;
}

/** A deployed file whose content differs on the host: what the host holds now. */
export interface DriftedFile {
    path: string;
    mode: number;
    size: number;
    sha256: string;
    /** For a symlink: its target text on the host. */
    target?: string;
}

export interface DriftResult {
    /** Whether the host's ledger knows this instance. When false nothing was checked: no ledger (nothing deployed yet, or a host written by 0.1 that the next deployment converts), or the instance's paths passed to another resource or were destroyed. */
    known: boolean;
    /** Files whose content differs from what was deployed (whatever their mode): the host's version. */
    changed: DriftedFile[];
    /** Files with the deployed content (its whole sha256, from the ledger) and another mode. */
    modeChanged: { path: string; mode: number; sha256: string }[];
    /** Deployed files that are gone, or are no longer regular files (a folder or symlink stands there). */
    removed: string[];
    /** Files whose mtime moved but whose content and mode are as deployed: not drift. */
    touched: number;
    /** Deployed files checked. */
    checked: number;
    /** lstat round trips to the host for the deployed files (many in flight). */
    stats: number;
    /** Host hashes (only where a size or mtime moved). */
    hashes: number;
    /**
     * False when a deployment or destroy of this destination was under way
     * or finished while the host was read (its lock or journal was there, or
     * the ledger changed): the result may mix two versions. Nothing is
     * corrupted either way; read again once it has finished.
     */
    settled: boolean;
}

/** The ledger's text and whether a run holds the destination, read together. */
async function readState(t: Transport, layout: ReturnType<typeof layoutFor>): Promise<{ ledger?: string; busy: boolean }> {
    const [lock, journal, ledger] = await Promise.all([t.stat(layout.lock), t.stat(layout.journal), t.stat(layout.ledger)]);
    // A destroy that empties the ledger removes it: gone between the stat and the read is no ledger.
    const text = ledger
        ? await t.readFile(layout.ledger).then(
              (b) => b.toString("utf8"),
              async (err: Error) => {
                  if (await t.stat(layout.ledger)) throw err;
                  return undefined;
              },
          )
        : undefined;
    return { ledger: text, busy: lock !== undefined || journal !== undefined };
}

/**
 * What changed on the host since this instance last deployed, without
 * changing anything there. For each path the ledger says the instance owns:
 * an lstat against the size, mode and mtime recorded at commit, and a host
 * hash only where the size or mtime moved. A file whose content is back to
 * the deployed version is not drift.
 *
 * Takes no lock: the lock is a file this would have to write, and a refresh
 * would wait behind (or be refused by) a deployment. Reading without it is
 * safe because the ledger is replaced by a rename (a reader sees the old
 * ledger or the new one, never half), nothing here writes, and a deployment
 * given these paths as `drifted` checks them again under the lock. A run
 * seen before or after the read marks the result `settled: false`.
 */
export async function detectDrift(t: Transport, req: DriftRequest): Promise<DriftResult> {
    const instance = typeof req.identity === "string" ? req.identity : req.identity.instance;
    const stateRoot = await resolveStateRoot(t, req.stateDir);
    checkStateRootApart(t.host, req.stateDir, stateRoot, req.destination);
    const layout = layoutFor(stateRoot, req.destination);
    const result: DriftResult = { known: false, changed: [], modeChanged: [], removed: [], touched: 0, checked: 0, stats: 0, hashes: 0, settled: true };
    const before = await readState(t, layout);
    const ledger = before.ledger === undefined ? undefined : decodeLedger(before.ledger, `${layout.ledger} on ${t.host}`);
    const owner = ledger?.owners.get(instance);
    if (!ledger || !owner) {
        result.settled = !before.busy;
        return result;
    }
    result.known = true;
    const slots = ledger.slotsOf(instance).sort(comparePaths);
    const reportAs = (slot: string) => (owner.kind === "file" ? req.fileName ?? path.posix.basename(req.destination) : slot);
    const queries: HostFileQuery[] = slots.map((slot) => {
        const owned = ledger.paths.get(slot)!;
        // 0 means the ledger never learned the mtime (converted from 0.1): only a hash can tell.
        return { target: targetPath(req.destination, owner.kind, slot), want: owned.entry, committedMtime: owned.mtime || undefined };
    });
    const counts: CheckCounts = { stats: 0, hashes: 0 };
    const states = await checkHostFiles(t, queries, { describe: true, counts });
    states.forEach((s, i) => {
        const p = reportAs(slots[i]);
        if (s.state === "missing") result.removed.push(p);
        else if (s.state === "content") {
            if (s.sha256 === undefined) {
                throw new Error(
                    `failed to hash ${queries[i].target} on ${t.host}: the host has neither openssl nor sha256sum, and the file (${s.stat!.size} bytes) is too large to read back; install openssl or coreutils there`,
                );
            }
            result.changed.push({ path: p, mode: s.stat!.mode, size: s.stat!.size, sha256: s.sha256, ...(s.linkTarget !== undefined ? { target: s.linkTarget } : {}) });
        } else if (s.state === "mode") result.modeChanged.push({ path: p, mode: s.stat!.mode, sha256: queries[i].want.sha256 });
        if (s.state === "touched" || (s.state === "mode" && s.mtimeMoved)) result.touched++;
    });
    result.checked = slots.length;
    result.stats = counts.stats;
    result.hashes = counts.hashes;
    const after = await readState(t, layout);
    result.settled = !before.busy && !after.busy && after.ledger === before.ledger;
    return result;
}
