import * as crypto from "crypto";
import type { Transport } from "../transport";
import { HostLayout } from "./layout";
import { localLiveness, ProcessIdentity, thisProcess } from "./liveness";

export class LockedError extends Error {}

/** Who is deploying: named when another run finds the lock taken. */
export interface LockOwner {
    /** `org/project/stack` (or `project/stack`). */
    stack: string;
    resource: string;
}

interface Holder extends ProcessIdentity, LockOwner {
    token: string;
    since: string;
    beat: number;
}

/** How often a holder rewrites the lock; a holder on another machine that misses a few beats is dead. */
export const HEARTBEAT_MS = 3000;
const STALE_AFTER_MS = 4 * HEARTBEAT_MS;
const POLL_MS = 250;
const DEFAULT_WAIT_MS = 20 * 60 * 1000;

export interface LockOptions {
    log?: (line: string) => void;
    /** How long to wait for a live holder of the same stack. Default: 20 minutes. */
    waitMs?: number;
}

function parseHolder(text: string): Holder | undefined {
    try {
        const h = JSON.parse(text) as Holder;
        return typeof h.token === "string" ? h : undefined;
    } catch {
        return undefined;
    }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Locks this process holds now: a lock naming this process with another token was left by a call whose release failed. */
const heldHere = new Set<string>();

/**
 * Takes the destination's lock (a file created exclusively), so two runs
 * never interleave on one destination. A lock whose holder is gone — it ran
 * on this machine and its process is dead, or it ran elsewhere and stopped
 * renewing the lock — is broken. A live holder of the same stack (two
 * resources of one `pulumi up` on one destination) is waited for; a live
 * holder of another stack refuses, naming it. Returns the release.
 */
export async function acquireLock(t: Transport, layout: HostLayout, owner: LockOwner, options: LockOptions = {}): Promise<() => Promise<void>> {
    const me: Holder = { ...thisProcess(), ...owner, token: crypto.randomBytes(8).toString("hex"), since: new Date().toISOString(), beat: 0 };
    const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
    const deadline = Date.now() + waitMs;
    let waitingSaid = false;
    // Holders seen on another machine: when each last changed, to judge whether it still beats.
    let watched: { text: string; seenAt: number } | undefined;
    for (;;) {
        if (await t.createExclusive(layout.lock, JSON.stringify(me))) break;
        let text: string;
        try {
            text = (await t.readFile(layout.lock)).toString("utf8");
        } catch {
            continue; // released between our attempt and the read
        }
        const holder = parseHolder(text);
        let dead = false;
        if (holder) {
            const live = holder.pid === me.pid && holder.runner === me.runner && holder.bootId === me.bootId ? (heldHere.has(holder.token) ? "alive" : "dead") : localLiveness(holder);
            if (live === "dead") dead = true;
            else if (live === "unknown") {
                if (!watched || watched.text !== text) watched = { text, seenAt: Date.now() };
                else if (Date.now() - watched.seenAt > STALE_AFTER_MS) dead = true;
            }
        } else if (!watched || watched.text !== text) {
            // Half written, or not ours: give it the same grace as a silent holder.
            watched = { text, seenAt: Date.now() };
        } else if (Date.now() - watched.seenAt > STALE_AFTER_MS) dead = true;
        if (dead) {
            await breakLock(t, layout, text, me.token);
            options.log?.(`broke the lock of a run that is gone (${describe(holder)}) on ${t.host}`);
            continue;
        }
        if (holder && holder.stack !== owner.stack) {
            throw new LockedError(
                `another deployment to this destination is running on ${t.host}: stack ${holder.stack}, resource ${holder.resource}, since ${holder.since} (${layout.lock}); ` +
                    `wait for it to finish and run pulumi up again`,
            );
        }
        if (Date.now() > deadline) {
            throw new LockedError(`waited ${Math.round(waitMs / 1000)} s for ${describe(holder)} to finish on ${t.host} (${layout.lock}); run pulumi up again when it has`);
        }
        if (!waitingSaid) options.log?.(`waiting for ${describe(holder)} to finish on ${t.host}`);
        waitingSaid = true;
        await sleep(POLL_MS);
    }
    heldHere.add(me.token);
    // Renewed while held, so a run on another machine can tell a live holder from a dead one.
    let beating: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
        me.beat++;
        beating = t.writeFile(layout.lock, JSON.stringify(me), 0o600).catch(() => undefined);
    }, HEARTBEAT_MS);
    timer.unref();
    return async () => {
        clearInterval(timer);
        heldHere.delete(me.token);
        // A renewal still in flight would bring the lock back after its removal.
        await beating;
        await t.unlink(layout.lock).catch(() => undefined);
    };
}

function describe(h: Holder | undefined): string {
    return h ? `stack ${h.stack}, resource ${h.resource} (pid ${h.pid} on ${h.runner}, since ${h.since})` : "an unreadable lock holder";
}

/**
 * Moves the dead holder's lock aside under a name of our own, then checks
 * that what moved is the lock we judged: if another run broke it first and
 * took a new one, that one is put back.
 */
async function breakLock(t: Transport, layout: HostLayout, judged: string, token: string): Promise<void> {
    const aside = `${layout.lock}.broken-${token}`;
    try {
        await t.rename(layout.lock, aside);
    } catch {
        return; // gone already
    }
    const moved = (await t.readFile(aside).catch(() => Buffer.from(""))).toString("utf8");
    if (moved !== judged) await t.link(aside, layout.lock).catch(() => undefined);
    await t.unlink(aside).catch(() => undefined);
}
