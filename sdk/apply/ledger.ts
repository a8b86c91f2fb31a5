import * as crypto from "crypto";
import * as path from "path";
import { comparePaths, decodeManifest, decodeNumbers, decodePaths, encodeManifest, encodeNumbers, encodePaths, Manifest, ManifestEntry } from "../manifest";
import type { Transport } from "../transport";
import { writeFileAtomically } from "./atomicFile";
import type { HostLayout } from "./layout";
import { listRecords } from "./records";

/**
 * Who deployed a path. A replaced resource keeps its URN (and its name), so
 * only `instance`, minted by each create, tells the new one from the old.
 */
export interface OwnerId {
    instance: string;
    organization?: string;
    project?: string;
    stack?: string;
    urn?: string;
    /** The resource's name: for messages, and to recognise an owner converted from 0.1 state, whose URN is unknown. */
    name?: string;
}

const RETIRED_KEPT = 500;

/** The identity of a program that calls deploy and destroy directly (benchmarks, tests of the apply layer): one owner for all its calls. */
export const DIRECT_CALLER: OwnerId = { instance: "direct", name: "direct" };

/** One deployed path as the ledger knows it. */
export interface OwnedPath {
    /** The owner's instance id. */
    owner: string;
    /** The deployment (record id) that last wrote the path. */
    deployment: string;
    entry: ManifestEntry;
    /** Seconds since the epoch that the host gave the path at commit; 0 when not known (converted from 0.1). */
    mtime: number;
}

export interface OwnerRecord extends OwnerId {
    kind: Manifest["kind"];
    /** The owner's last committed deployment, its time and manifest digest. */
    deployment: string;
    time: string;
    digest: string;
    /** Folders this owner's deployments created (absolute), removed again when they empty. */
    dirs: string[];
}

/**
 * What every run of every stack meets on the host: who owns each deployed
 * path of one destination, which paths have a saved original (what was
 * there before any pulumi-delta deployment, kept in `originals/<slot>`), the
 * folders deployments created, and each owner's committed manifest (its
 * paths). Paths are slots (see `slotPath`).
 */
export class Ledger {
    constructor(
        readonly destination: string,
        /** The last deployment or destroy this ledger describes: recovery compares it with a journal's id to tell a finished commit from a half one. */
        public lastOperation = "",
        readonly owners = new Map<string, OwnerRecord>(),
        readonly paths = new Map<string, OwnedPath>(),
        readonly originals = new Set<string>(),
        /**
         * Instances replaced by a later one or destroyed. Their Pulumi state
         * may still list paths (a replaced resource's delete runs after its
         * replacement committed), and must never claim them back.
         */
        readonly retired = new Set<string>(),
    ) {}

    /** Marks an instance as done with this destination; the newest few hundred are kept. */
    retire(instance: string): void {
        this.retired.delete(instance);
        this.retired.add(instance);
        for (const old of this.retired) {
            if (this.retired.size <= RETIRED_KEPT) break;
            this.retired.delete(old);
        }
    }

    slotsOf(instance: string): string[] {
        return [...this.paths].filter(([, p]) => p.owner === instance).map(([slot]) => slot);
    }

    /** Nothing left to keep: the ledger file goes (retired instances then own nothing anywhere, and 0.1 state has nothing to claim). */
    isEmpty(): boolean {
        return this.owners.size === 0 && this.paths.size === 0 && this.originals.size === 0;
    }

    /** Drops owners that own no path and no folder any more. */
    pruneOwners(): void {
        const owning = new Set([...this.paths.values()].map((p) => p.owner));
        for (const [id, o] of this.owners) if (!owning.has(id) && o.dirs.length === 0) this.owners.delete(id);
    }
}

/** `project/stack`, with the organization in front when known: how messages and `takeOverFrom` name a stack. */
export function stackName(o: Pick<OwnerId, "organization" | "project" | "stack">): string {
    return [o.organization, o.project, o.stack].filter((s) => s !== undefined && s !== "").join("/") || "(unknown stack)";
}

export function sameStack(a: OwnerId, b: OwnerId): boolean {
    if (a.project !== b.project || a.stack !== b.stack) return false;
    return a.organization === undefined || b.organization === undefined || a.organization === b.organization;
}

/** The same resource of the same stack (a replacement, or a create whose earlier run was killed): by URN, or by name when a URN is unknown. */
export function sameResource(a: OwnerId, b: OwnerId): boolean {
    if (!sameStack(a, b)) return false;
    return a.urn && b.urn ? a.urn === b.urn : a.name !== undefined && a.name === b.name;
}

/** How the ledger is stored: per owner its paths as a compact manifest, plus their mtimes and writers. */
interface StoredOwner extends Omit<OwnerRecord, "instance"> {
    manifest: string;
    /** Per path (in path order): mtime, then an index into `deployments`. */
    stamps: string;
    deployments: string[];
}

interface StoredLedger {
    version: 1;
    destination: string;
    lastOperation: string;
    owners: Record<string, StoredOwner>;
    originals: string;
    retired?: string[];
}

export function encodeLedger(l: Ledger): string {
    const owners: Record<string, StoredOwner> = {};
    for (const [id, o] of l.owners) {
        const slots = l.slotsOf(id).sort(comparePaths);
        const deployments: string[] = [];
        const stamps: number[] = [];
        const entries = new Map<string, ManifestEntry>();
        for (const slot of slots) {
            const p = l.paths.get(slot)!;
            entries.set(slot, p.entry);
            let d = deployments.indexOf(p.deployment);
            if (d < 0) d = deployments.push(p.deployment) - 1;
            stamps.push(p.mtime, d);
        }
        const { instance: _instance, ...rest } = o;
        owners[id] = { ...rest, manifest: encodeManifest({ kind: o.kind, entries }, { level: 1 }), stamps: encodeNumbers(stamps), deployments };
    }
    const stored: StoredLedger = { version: 1, destination: l.destination, lastOperation: l.lastOperation, owners, originals: encodePaths([...l.originals]), retired: [...l.retired] };
    return JSON.stringify(stored, null, 1) + "\n";
}

export function decodeLedger(text: string, where: string): Ledger {
    let s: StoredLedger;
    try {
        s = JSON.parse(text) as StoredLedger;
    } catch {
        throw new Error(`${where} is not a pulumi-delta ledger (not JSON); move it away only if no deployment uses this destination`);
    }
    if (s.version !== 1) throw new Error(`${where} has version ${String(s.version)}, which this version of pulumi-delta cannot read; upgrade pulumi-delta`);
    const l = new Ledger(s.destination, s.lastOperation);
    for (const [id, o] of Object.entries(s.owners)) {
        const { manifest, stamps, deployments, ...rest } = o;
        l.owners.set(id, { ...rest, instance: id });
        const m = decodeManifest(manifest);
        const ns = decodeNumbers(stamps);
        [...m.entries.keys()].sort(comparePaths).forEach((slot, i) => {
            l.paths.set(slot, { owner: id, deployment: deployments[ns[2 * i + 1]] ?? "", entry: m.entries.get(slot)!, mtime: ns[2 * i] ?? 0 });
        });
    }
    for (const slot of decodePaths(s.originals)) l.originals.add(slot);
    for (const r of s.retired ?? []) l.retired.add(r);
    return l;
}

export async function readLedger(t: Transport, layout: HostLayout): Promise<Ledger | undefined> {
    if (!(await t.stat(layout.ledger))) return undefined;
    return decodeLedger((await t.readFile(layout.ledger)).toString("utf8"), `${layout.ledger} on ${t.host}`);
}

/** Written beside and renamed over the old one, so a reader (or a killed run) sees the old ledger or the new, never half of one. */
export async function writeLedger(t: Transport, layout: HostLayout, l: Ledger): Promise<void> {
    if (l.isEmpty()) {
        await t.unlink(layout.ledger).catch(() => undefined);
        return;
    }
    await writeFileAtomically(t, layout.ledger, encodeLedger(l), 0o600);
}

/** Every file under `dir` on the host, as paths relative to it. */
async function filesUnder(t: Transport, dir: string, rel = ""): Promise<string[]> {
    const out: string[] = [];
    for (const name of await t.readdir(rel ? `${dir}/${rel}` : dir)) {
        const r = rel ? `${rel}/${name}` : name;
        const st = await t.stat(`${dir}/${r}`);
        if (st?.kind === "dir") out.push(...(await filesUnder(t, dir, r)));
        else if (st) out.push(r);
    }
    return out;
}

/**
 * The id a resource whose state was written by 0.1 (no instance id) goes by:
 * derived from what 0.1 recorded on the host, so the host and the resource
 * compute the same one.
 */
export function legacyInstanceId(project: string | null | undefined, stack: string | null | undefined, name: string | null | undefined, destination: string): string {
    return `v01-${crypto.createHash("sha256").update(`${project ?? ""}/${stack ?? ""}/${name ?? ""}\0${destination}`).digest("hex").slice(0, 16)}`;
}

/**
 * The destination's ledger; for a destination written by 0.1 (an
 * `originals/` folder and records, no ledger), one made from what is there:
 * every file under `originals/` is a saved original, and replaying 0.1's
 * records in order tells which resource deployed which path that is still
 * deployed. Records written since carry an instance id: once one exists,
 * the destination was converted before and nothing is replayed.
 */
export async function openLedger(t: Transport, layout: HostLayout, destination: string): Promise<{ ledger: Ledger; converted: boolean }> {
    const found = await readLedger(t, layout);
    if (found) return { ledger: found, converted: false };
    const ledger = new Ledger(destination);
    const st = await t.stat(layout.originals);
    if (st?.kind === "dir") for (const slot of await filesUnder(t, layout.originals)) if (!slot.includes("/.tmp-")) ledger.originals.add(slot);
    const records = await listRecords(t, layout).catch(() => []);
    if (records.some((r) => r.instance !== undefined)) return { ledger, converted: false };
    for (const r of records) {
        const instance = legacyInstanceId(r.project, r.stack, r.resource, destination);
        for (const c of r.changes) {
            const kind = c.file === destination ? "file" : "dir";
            const slot = kind === "file" ? "file" : path.posix.relative(destination, c.file);
            if (r.operation === "deploy" && c.action !== "delete" && c.sha256) {
                ledger.paths.set(slot, { owner: instance, deployment: r.id, entry: { mode: 0o644, size: c.bytes ?? 0, sha256: c.sha256 }, mtime: 0 });
                if (!ledger.owners.has(instance)) {
                    ledger.owners.set(instance, { instance, project: r.project ?? undefined, stack: r.stack ?? undefined, name: r.resource ?? undefined, kind, deployment: r.id, time: r.time, digest: "", dirs: [] });
                }
            } else if (ledger.paths.get(slot)?.owner === instance || r.operation === "destroy") {
                ledger.paths.delete(slot);
            }
        }
    }
    ledger.pruneOwners();
    return { ledger, converted: st?.kind === "dir" || records.length > 0 };
}

/**
 * A resource whose state was written by 0.1 and says it deployed
 * `stateManifest`, but that the ledger does not know (its records are gone),
 * claims the paths of that manifest nobody else owns. Paths another
 * owner holds stay theirs. An instance the ledger retired (replaced, or
 * destroyed) claims nothing: what its state lists was handed on.
 */
export function claimFromState(l: Ledger, me: OwnerId, stateManifest: Manifest, slotOf: (p: string) => string, createdDirs: readonly string[], recordedAt: string): number {
    if (!me.instance.startsWith("v01-") || l.owners.has(me.instance) || l.retired.has(me.instance)) return 0;
    let claimed = 0;
    for (const [p, entry] of stateManifest.entries) {
        const slot = slotOf(p);
        if (l.paths.has(slot)) continue;
        l.paths.set(slot, { owner: me.instance, deployment: "", entry, mtime: 0 });
        claimed++;
    }
    const claimedDirs = createdDirs.filter((d) => ![...l.owners.values()].some((o) => o.dirs.includes(d)));
    if (claimed || claimedDirs.length) l.owners.set(me.instance, { ...me, kind: stateManifest.kind, deployment: "", time: recordedAt, digest: "", dirs: [...claimedDirs] });
    return claimed;
}

/** Whether folder `d` holds `p` (at any depth). */
export function holds(d: string, p: string): boolean {
    return p.startsWith(d.endsWith("/") ? d : `${d}/`) && path.posix.normalize(p) === p;
}
