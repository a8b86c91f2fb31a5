import { compareDeltas, versionOf } from "./version";

/** Where one applied delta sits in its tenant's chain: the delta applied just before it. */
export interface ChainLink {
    tenant: string;
    id: string;
    /** The id of the delta before this one for the same tenant; undefined for the first. */
    previous?: string;
}

function order(id: string): { version: bigint; id: string } {
    try {
        return { version: versionOf(id), id };
    } catch {
        return { version: -1n, id };
    }
}

/**
 * Keeps each tenant's deltas in file order. A delta already applied (`old`)
 * whose predecessor changes tells what happened before it: a later
 * predecessor means a new delta was slipped in before it (refused unless
 * `allowOutOfOrder`); an earlier one, or none, means its predecessor was
 * removed while it stays (always refused: the removed delta's down part
 * would run under one that was applied after it).
 */
export function chainProblem(old: ChainLink, now: ChainLink, allowOutOfOrder: boolean): string | undefined {
    if (old.previous === now.previous) return undefined;
    const removed = old.previous !== undefined && (now.previous === undefined || compareDeltas(order(now.previous), order(old.previous)) < 0);
    if (removed) {
        return (
            `tenant ${now.tenant}: delta ${old.previous} was removed but ${now.id}, applied after it, stays; ` +
            `remove ${now.id} too (its down part then runs first), or restore ${old.previous}`
        );
    }
    if (allowOutOfOrder) return undefined;
    return (
        `tenant ${now.tenant}: delta ${now.previous} is new but sorts before ${now.id}, which ${now.tenant} already has; ` +
        `rename it to sort after the last applied delta, or set allowOutOfOrder: true to apply it out of order`
    );
}

/** The refusal when an applied delta's file changed: never a silent re-run. */
export function checksumChangedMessage(file: string, id: string, tenant: string, applied: string, now: string): string {
    return (
        `${file}: delta ${id} is applied to tenant ${tenant} with checksum ${applied}, but the file now has ${now}; ` +
        `an applied delta must not change: undo the edit and put the change in a new delta`
    );
}
