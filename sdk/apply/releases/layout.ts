import * as path from "path";
import type { HostLayout } from "../layout";

/**
 * Where the releases of one destination live. The release folders must be
 * on the destination's filesystem (a symlink flip needs no copy) and
 * readable by whoever reads `destination` (a web server follows the link
 * into them), so they sit beside it in one hidden folder, never under the
 * 0700 `stateDir`; the bookkeeping (which release is live, each release's
 * manifest, the journal) stays under `stateDir`.
 */
export interface ReleasesLayout {
    destination: string;
    /** `<parent of destination>/.<name of destination>.releases` (mode 0755). */
    root: string;
    /** `<root>/original`: what was at `destination` before the first release (absent when nothing was). */
    original: string;
    /** `<stateDir>/<key>/releases.json`: the releases, which one is live, what the original was. */
    state: string;
    /** `<stateDir>/<key>/releases/`: each release's manifest, `<id>.manifest`. */
    manifests: string;
    /** `<stateDir>/<key>/releases-journal.json`: present while a release is built, flipped or removed. */
    journal: string;
}

export const ORIGINAL = "original";

export function releasesLayout(host: HostLayout, destination: string): ReleasesLayout {
    const root = path.posix.join(path.posix.dirname(destination), `.${path.posix.basename(destination)}.releases`);
    return {
        destination,
        root,
        original: `${root}/${ORIGINAL}`,
        state: `${host.folder}/releases.json`,
        manifests: `${host.folder}/releases`,
        journal: `${host.folder}/releases-journal.json`,
    };
}

export function releasePath(l: ReleasesLayout, id: string): string {
    return `${l.root}/${id}`;
}

export function manifestPath(l: ReleasesLayout, id: string): string {
    return `${l.manifests}/${id}.manifest`;
}

/** A new symlink is made under this name beside `destination`, then renamed over it. */
export const TEMP_LINK_PREFIX = ".pulumi-delta-link-";

export function tempLinkPath(l: ReleasesLayout, id: string): string {
    return path.posix.join(path.posix.dirname(l.destination), `${TEMP_LINK_PREFIX}${path.posix.basename(l.destination)}-${id}`);
}
