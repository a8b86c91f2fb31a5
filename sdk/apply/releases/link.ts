import type { Transport } from "../../transport";
import { ReleasesLayout, tempLinkPath } from "./layout";

/** The target text of the symlink at `p`, or undefined when `p` is not a symlink. */
export async function readLink(t: Transport, p: string): Promise<string | undefined> {
    if ((await t.stat(p))?.kind !== "symlink") return undefined;
    return t.readlink(p);
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
    await t.symlink(release, tmp);
    await t.rename(tmp, l.destination);
}
