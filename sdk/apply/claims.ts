import type { Manifest, ManifestEntry } from "../manifest";
import { Ledger, OwnerId, OwnerRecord, sameResource, sameStack, stackName } from "./ledger";

/** A path of the new manifest that another stack's deployment owns. */
export interface Conflict {
    slot: string;
    owner: OwnerRecord;
}

/** What a deployment finds in the ledger before anything moves. */
export interface Claim {
    /**
     * What the deployment builds on, as the ledger knows it (never Pulumi
     * state, which can be behind, replaced or forked): its own paths, those
     * of earlier instances of the same resource, and the paths of the new
     * manifest it takes over. Keyed like the new manifest.
     */
    previous: Manifest;
    /** Slots owned by another instance that this deployment takes over. */
    takenOver: string[];
    /** Earlier instances of this resource (a replacement's original, a create killed after it committed): all of their paths and folders pass to this one. */
    predecessors: string[];
    /** Paths another stack owns and `takeOverFrom` does not name: the deployment is refused. */
    conflicts: Conflict[];
}

/** Whether `takeOverFrom` (entries `project/stack` or `org/project/stack`) names the owner's stack. */
export function handedOver(owner: OwnerId, takeOverFrom: readonly string[]): boolean {
    const full = stackName(owner);
    const short = [owner.project, owner.stack].join("/");
    return takeOverFrom.some((s) => s === full || s === short);
}

/**
 * Who owns what the new manifest needs. Within one stack a new resource
 * takes over another's paths (a replace, a rename, a second resource on the
 * destination); another stack's paths are taken over only when
 * `takeOverFrom` names that stack.
 */
export function planClaim(ledger: Ledger, me: OwnerId, next: Manifest, slotOf: (p: string) => string, takeOverFrom: readonly string[]): Claim {
    const predecessors = [...ledger.owners.values()].filter((o) => o.instance !== me.instance && o.kind === next.kind && sameResource(o, me)).map((o) => o.instance);
    const inherited = new Set([me.instance, ...predecessors]);
    const previous: Manifest = { kind: next.kind, entries: new Map<string, ManifestEntry>() };
    const takenOver: string[] = [];
    const conflicts: Conflict[] = [];
    // The key a slot has in a manifest of next's kind: a single file has one entry, whatever its name.
    const keyOf = (slot: string) => (next.kind === "file" ? [...next.entries.keys()][0] ?? slot : slot);
    for (const [slot, owned] of ledger.paths) {
        if (inherited.has(owned.owner)) {
            previous.entries.set(keyOf(slot), owned.entry);
            if (owned.owner !== me.instance && next.entries.has(keyOf(slot))) takenOver.push(slot);
        }
    }
    for (const p of next.entries.keys()) {
        const slot = slotOf(p);
        const owned = ledger.paths.get(slot);
        if (!owned || inherited.has(owned.owner)) continue;
        const owner = ledger.owners.get(owned.owner) ?? { instance: owned.owner, kind: next.kind, deployment: owned.deployment, time: "", digest: "", dirs: [] };
        if (sameStack(owner, me) || handedOver(owner, takeOverFrom)) {
            previous.entries.set(p, owned.entry);
            takenOver.push(slot);
        } else {
            conflicts.push({ slot, owner });
        }
    }
    return { previous, takenOver, predecessors, conflicts };
}

/** The refusal: which stack, resource and path, and the two ways to hand them over. */
export function conflictMessage(conflicts: readonly Conflict[], targetOf: (slot: string) => string, host: string): string {
    const byStack = new Map<string, Conflict[]>();
    for (const c of conflicts) {
        const k = stackName(c.owner);
        byStack.set(k, [...(byStack.get(k) ?? []), c]);
    }
    const parts = [...byStack].map(([stack, cs]) => {
        const o = cs[0].owner;
        const shown = cs.slice(0, 5).map((c) => targetOf(c.slot)).join(", ");
        const more = cs.length > 5 ? ` and ${cs.length - 5} more` : "";
        return `${cs.length} path${cs.length === 1 ? " (" : "s ("}${shown}${more}) ${cs.length === 1 ? "belongs" : "belong"} to stack ${stack}, resource ${o.urn ?? o.name ?? "(unknown)"} (instance ${o.instance})`;
    });
    const stacks = [...byStack.keys()].map((s) => JSON.stringify(s)).join(", ");
    return (
        `refused before anything moved on ${host}: ${parts.join("; ")}. ` +
        `To hand them over, destroy that deployment first, or add ${stacks} to this deployment's takeOverFrom input (its destroy will then no longer touch them)`
    );
}

/** What one committed deployment changed, for the ledger. */
export interface Settlement {
    id: string;
    time: string;
    digest: string;
    /** Slots put, with the mtime the host gave each after commit and whether its original was saved now. */
    puts: Map<string, { mtime: number; savedOriginal: boolean }>;
    /** Slots removed, and whether their original went back in place. */
    removed: Map<string, { restoredOriginal: boolean }>;
    /** Unchanged slots whose host mtime was read again (taken over with a stamp that moved, content the same). */
    restamped: Map<string, number>;
    /** This owner's folders after the deployment (absolute). */
    dirs: string[];
}

/**
 * The ledger after a committed deployment: this instance owns every path of
 * `next` (written now, kept, or taken over), its predecessors are gone, and
 * owners left with nothing are dropped.
 */
export function settleDeployment(ledger: Ledger, me: OwnerId, claim: Claim, next: Manifest, slotOf: (p: string) => string, s: Settlement): void {
    for (const [p, entry] of next.entries) {
        const slot = slotOf(p);
        const before = ledger.paths.get(slot);
        const put = s.puts.get(slot);
        ledger.paths.set(slot, {
            owner: me.instance,
            deployment: put ? s.id : before?.deployment ?? s.id,
            entry,
            mtime: put ? put.mtime : s.restamped.get(slot) ?? before?.mtime ?? 0,
        });
        if (put?.savedOriginal) ledger.originals.add(slot);
    }
    for (const [slot, r] of s.removed) {
        ledger.paths.delete(slot);
        if (r.restoredOriginal) ledger.originals.delete(slot);
    }
    for (const id of claim.predecessors) {
        ledger.owners.delete(id);
        ledger.retire(id);
    }
    ledger.owners.set(me.instance, { ...me, kind: next.kind, deployment: s.id, time: s.time, digest: s.digest, dirs: [...new Set(s.dirs)].sort() });
    ledger.lastOperation = s.id;
    ledger.pruneOwners();
}
