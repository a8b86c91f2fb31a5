import type { Transport } from "../../transport";
import { shQuote } from "../../transport";
import { ReleasesLayout, tempLinkPath } from "./layout";

/*
 * Symlinks through the host's shell: the Transport has no symlink calls yet
 * (the fidelity work adds them; switch these to it then).
 */

/** The target text of the symlink at `p`, or undefined when `p` is not a symlink. */
export async function readLink(t: Transport, p: string): Promise<string | undefined> {
    if ((await t.stat(p))?.kind !== "symlink") return undefined;
    const r = await t.exec(`readlink -- ${shQuote(p)}`);
    if (r.code !== 0) throw new Error(`failed to read the symlink ${p} on ${t.host}: ${r.stderr.trim() || `readlink exited with code ${r.code}`}`);
    return r.stdout.replace(/\n$/, "");
}

async function makeLink(t: Transport, target: string, at: string): Promise<void> {
    const r = await t.exec(`ln -s -- ${shQuote(target)} ${shQuote(at)}`);
    if (r.code !== 0) throw new Error(`failed to create the symlink ${at} on ${t.host}: ${r.stderr.trim() || `ln exited with code ${r.code}`}`);
}

/**
 * Points `destination` at `release`: a new symlink beside it, renamed over
 * it. The rename is the one atomic step: a reader resolves `destination` to
 * the old release or the new one, never to neither. `destination` must be
 * a symlink already or absent.
 */
export async function pointAt(t: Transport, l: ReleasesLayout, release: string, id: string): Promise<void> {
    const tmp = tempLinkPath(l, id);
    if (await t.stat(tmp)) await t.unlink(tmp);
    await makeLink(t, release, tmp);
    await t.rename(tmp, l.destination);
}
