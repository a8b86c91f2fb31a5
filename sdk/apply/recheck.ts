import { comparePaths, Manifest, ManifestDelta } from "../manifest";
import type { Transport } from "../transport";
import type { Claim } from "./claims";
import { checkHostFiles, CheckCounts, HostFileQuery, hostSha256 } from "./hostCheck";
import { slotPath, targetPath } from "./layout";
import type { Ledger } from "./ledger";

/**
 * Taken-over paths the ledger says hold what `next` wants are checked on the
 * host: a stat against the size and mtime the ledger recorded, a host hash
 * only where they differ. A path that no longer matches leaves `previous`,
 * so it is sent. Returns the mtimes of paths that matched by hash.
 */
export async function verifyTakenOver(t: Transport, ledger: Ledger, claim: Claim, next: Manifest, destination: string): Promise<Map<string, number>> {
    const restamped = new Map<string, number>();
    const keyOf = (slot: string) => (next.kind === "file" ? [...next.entries.keys()][0] : slot);
    const slots = claim.takenOver.filter((slot) => {
        const want = next.entries.get(keyOf(slot));
        const had = claim.previous.entries.get(keyOf(slot));
        return want && had && ledger.paths.has(slot) && had.sha256 === want.sha256 && had.mode === want.mode;
    });
    const queries = slots.map((slot) => ({ target: targetPath(destination, next.kind, slot), want: next.entries.get(keyOf(slot))!, committedMtime: ledger.paths.get(slot)!.mtime || undefined }));
    const states = await checkHostFiles(t, queries, { describe: false });
    states.forEach((s, i) => {
        if (s.state === "touched") restamped.set(slots[i], s.stat!.mtime);
        else if (s.state !== "same") claim.previous.entries.delete(keyOf(slots[i]));
    });
    return restamped;
}

/** Why a path is rewritten although the previous manifest says it holds what `next` wants. */
export type DriftKind = "content" | "mode" | "removed";

/** A path a deployment rewrote (or, for one `next` drops, removed) because it had drifted on the host. */
export interface RepairedPath {
    /** Manifest path. */
    path: string;
    drift: DriftKind;
    /** Where the hand-edited version is kept on the host (absent when the file was gone). */
    handEdited?: string;
}

export interface DriftPlan {
    /** The delta with drifted paths put again: an unchanged path becomes changed (added when it is gone from the host). */
    delta: ManifestDelta;
    /** By slot: what drifted, and for a file still there its host path and size (the version to keep). */
    repairs: Map<string, { path: string; drift: DriftKind; target: string; size?: number }>;
    /** Drifted paths that already hold what `next` wants on the host: left alone. */
    matched: string[];
    /** Slots whose content is as the ledger says but whose mtime moved: the host's mtime now. */
    restamped: Map<string, number>;
    counts: CheckCounts;
}

/**
 * Checks on the host the paths the caller's state recorded as drifted, for
 * those the ledger says this resource deployed (others mean nothing here):
 * each against the deployed version (an lstat; a hash only where size or
 * mtime moved). One that is gone, or holds other content or another mode
 * than deployed and than `next` wants, is put again; one that already holds
 * what `next` wants is left alone, even when the delta would have rewritten
 * it. Nothing on the host changes here.
 */
export async function planDriftRepair(t: Transport, ledger: Ledger, claim: Claim, next: Manifest, delta: ManifestDelta, destination: string, drifted: readonly string[]): Promise<DriftPlan> {
    const previous = claim.previous;
    const removed = new Set(delta.removed);
    // A single file has one entry whatever its name: any drifted path names it.
    const keys = next.kind === "file" ? (drifted.length ? [...previous.entries.keys()].slice(0, 1) : []) : [...new Set(drifted)].filter((p) => previous.entries.has(p) && (next.entries.has(p) || removed.has(p)));
    keys.sort(comparePaths);
    const queries: HostFileQuery[] = keys.map((k) => {
        const owned = ledger.paths.get(slotPath(next.kind, k));
        return { target: targetPath(destination, next.kind, k), want: previous.entries.get(k)!, committedMtime: owned?.mtime || undefined };
    });
    const counts: CheckCounts = { stats: 0, hashes: 0 };
    const states = await checkHostFiles(t, queries, { describe: false, counts });
    const plan: DriftPlan = { delta, repairs: new Map(), matched: [], restamped: new Map(), counts };
    const put = new Set<string>();
    const leave = new Set<string>();
    const gone = new Set<string>();
    for (const [i, s] of states.entries()) {
        const k = keys[i];
        const slot = slotPath(next.kind, k);
        const target = queries[i].target;
        const want = next.entries.get(k);
        if (s.state === "same" || s.state === "touched") {
            // As deployed: not drift (any longer). The delta decides.
            if (s.state === "touched") plan.restamped.set(slot, s.stat!.mtime);
            if (want) plan.matched.push(k);
            continue;
        }
        if (s.state === "missing") {
            // A folder or symlink in the way is left to the put, which refuses it by name.
            if (want && !s.stat) gone.add(k);
            else if (want) put.add(k);
            if (want || !s.stat) plan.repairs.set(slot, { path: k, drift: "removed", target });
            continue;
        }
        const st = s.stat!;
        if (want && !want.type && st.mode === want.mode && st.size === want.size) {
            counts.hashes += s.sha256 === undefined ? 1 : 0;
            if ((s.sha256 ?? (await hostSha256(t, target, st.size))) === want.sha256) {
                leave.add(k);
                plan.matched.push(k);
                plan.restamped.set(slot, st.mtime);
                continue;
            }
        }
        if (want) put.add(k);
        // A folder's hand-edited state is only its mode: nothing to keep aside.
        plan.repairs.set(slot, { path: k, drift: s.state, target, size: st.kind === "dir" ? undefined : st.size });
    }
    const added = new Set(delta.added);
    const changed = new Set(delta.changed);
    for (const k of put) if (!added.has(k)) changed.add(k);
    for (const k of gone) {
        changed.delete(k);
        added.add(k);
    }
    for (const k of leave) changed.delete(k);
    const sorted = (s: Set<string>) => [...s].sort(comparePaths);
    plan.delta = { added: sorted(added), changed: sorted(changed), removed: delta.removed, unchanged: next.entries.size - added.size - changed.size };
    plan.matched.sort(comparePaths);
    return plan;
}

/** One log line: what the check of the drifted paths found. */
export function describeDriftPlan(plan: DriftPlan, given: number, host: string): string {
    const n = (d: DriftKind) => [...plan.repairs.values()].filter((r) => r.drift === d).length;
    return (
        `${given} path${given === 1 ? "" : "s"} recorded as drifted, checked on ${host}: ` +
        `${n("content")} with other content, ${n("mode")} with another mode, ${n("removed")} gone, ${plan.matched.length} as deployed or as wanted`
    );
}
