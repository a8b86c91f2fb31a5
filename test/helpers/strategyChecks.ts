import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { assertHost, HostSnapshot, hostSnapshot, untouched } from "./hostTree";
import { treeDigest } from "./treeReader";

/**
 * How a trial judges the host, by strategy. inPlace: deployed files lie in
 * the destination folder over the host's own, the replaced ones kept under
 * stateDir's `originals/`. releases: `destination` is a symlink to a
 * release folder beside it that holds exactly the source, and what was at
 * `destination` before waits untouched in `<releases root>/original`.
 */
export interface HostPlace {
    host: string;
    /** The destination relative to the host root, e.g. "srv/app". */
    at: string;
    /** The destination's folder under stateDir. */
    folder: string;
    pristine: HostSnapshot;
}

export type Strategy = "inPlace" | "releases";

/** `<parent>/.<name>.releases`, relative to the host root. */
export function releasesRootOf(at: string): string {
    return path.posix.join(path.posix.dirname(at), `.${path.posix.basename(at)}.releases`);
}

/** The pristine entries under `at`, relative to it. */
function under(snapshot: HostSnapshot, at: string): HostSnapshot {
    return Object.fromEntries(Object.entries(snapshot).filter(([p]) => p.startsWith(`${at}/`)).map(([p, e]) => [p.slice(at.length + 1), e]));
}

/**
 * Every file the host had before the deployments that is neither where it
 * was (same content) nor kept aside — what a fault must never cause.
 * Deployed paths may hold a deployed version meanwhile.
 */
export function lostFiles(w: HostPlace, strategy: Strategy): string[] {
    const now = hostSnapshot(w.host);
    const aside = strategy === "inPlace" ? path.join(w.folder, "originals") : path.join(w.host, releasesRootOf(w.at), "original");
    const kept = hostSnapshot(aside);
    const lost: string[] = [];
    for (const [p, e] of Object.entries(w.pristine)) {
        if (e.kind !== "file") continue;
        if (now[p]?.sha256 === e.sha256) continue;
        const inDest = p.startsWith(`${w.at}/`) ? p.slice(w.at.length + 1) : undefined;
        if (inDest !== undefined && kept[inDest]?.sha256 === e.sha256) continue;
        lost.push(p);
    }
    return lost;
}

/** Asserts the host holds `source` deployed the strategy's way, and everything else as it was. */
export function assertDeployed(w: HostPlace, strategy: Strategy, source: string, message: string): void {
    if (strategy === "inPlace") {
        assertHost(w.host, w.pristine, [{ at: w.at, source }], message);
        return;
    }
    const dest = path.join(w.host, w.at);
    const link = fs.lstatSync(dest, { throwIfNoEntry: false });
    assert.ok(link?.isSymbolicLink(), `${message}: ${w.at} is ${link ? "not a symlink" : "absent"}`);
    const root = releasesRootOf(w.at);
    const live = path.relative(w.host, fs.realpathSync(dest));
    assert.strictEqual(path.posix.dirname(live), root, `${message}: ${w.at} points at ${live}, not at a release in ${root}`);
    assert.strictEqual(treeDigest(path.join(w.host, live)).digest, treeDigest(source).digest, `${message}: the live release ${live} is not the source`);
    // Outside the destination and its releases, and in the original kept aside, every entry is as it was.
    const outside = (s: HostSnapshot) => Object.fromEntries(Object.entries(s).filter(([p]) => p !== w.at && !p.startsWith(`${w.at}/`) && p !== root && !p.startsWith(`${root}/`)).map(([p, e]) => [p, untouched(e)]));
    assert.deepStrictEqual(outside(hostSnapshot(w.host)), outside(w.pristine), `${message}: the host outside ${w.at} changed`);
    const described = (s: HostSnapshot) => Object.fromEntries(Object.entries(s).map(([p, e]) => [p, untouched(e)]));
    assert.deepStrictEqual(described(hostSnapshot(path.join(w.host, root, "original"))), described(under(w.pristine, w.at)), `${message}: the original kept aside is not the folder that was at ${w.at}`);
}
