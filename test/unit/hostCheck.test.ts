import * as assert from "assert";
import { HostFileQuery, judgeByHash, judgeByStat } from "../../sdk/apply/hostCheck";
import type { RemoteStat } from "../../sdk/transport";

const SHA = "a".repeat(64);
const OTHER = "b".repeat(64);
const q: HostFileQuery = { target: "/srv/site/a.txt", want: { mode: 0o644, size: 10, sha256: SHA }, committedMtime: 1700000000 };
const file = (o: Partial<RemoteStat> = {}): RemoteStat => ({ kind: "file", mode: 0o644, size: 10, mtime: 1700000000, ...o });

describe("host check: lstat first, a hash only where size or mtime moved", () => {
    const byStat: [string, RemoteStat | undefined, Partial<HostFileQuery>, boolean, ReturnType<typeof judgeByStat>][] = [
        ["as committed", file(), {}, true, { state: "same", stat: file(), sha256: SHA, mtimeMoved: false }],
        ["chmod only (mtime stays)", file({ mode: 0o600 }), {}, true, { state: "mode", stat: file({ mode: 0o600 }), sha256: SHA, mtimeMoved: false }],
        ["gone", undefined, {}, true, { state: "missing", stat: undefined, mtimeMoved: false }],
        ["a symlink now", file({ kind: "symlink" }), {}, true, { state: "missing", stat: file({ kind: "symlink" }), mtimeMoved: false }],
        ["a folder now", file({ kind: "dir" }), {}, false, { state: "missing", stat: file({ kind: "dir" }), mtimeMoved: false }],
        ["mtime moved", file({ mtime: 1700000001 }), {}, false, "hash"],
        ["mtime never recorded (0.1)", file(), { committedMtime: undefined }, false, "hash"],
        ["size moved, describing", file({ size: 11 }), {}, true, "hash"],
        ["size moved, not describing: no hash needed", file({ size: 11 }), {}, false, { state: "content", stat: file({ size: 11 }), mtimeMoved: false }],
    ];
    for (const [name, st, over, describe, want] of byStat) {
        it(`by stat: ${name}`, () => assert.deepStrictEqual(judgeByStat(st, { ...q, ...over }, describe), want));
    }

    const byHash: [string, RemoteStat, Partial<HostFileQuery>, string | undefined, ReturnType<typeof judgeByHash>][] = [
        ["touched, or edited back to the deployed content", file({ mtime: 5 }), {}, SHA, { state: "touched", stat: file({ mtime: 5 }), sha256: SHA, mtimeMoved: true }],
        ["touched and chmodded", file({ mtime: 5, mode: 0o755 }), {}, SHA, { state: "mode", stat: file({ mtime: 5, mode: 0o755 }), sha256: SHA, mtimeMoved: true }],
        ["edited, same size", file({ mtime: 5 }), {}, OTHER, { state: "content", stat: file({ mtime: 5 }), sha256: OTHER, mtimeMoved: true }],
        ["edited and chmodded: content wins", file({ mtime: 5, size: 3, mode: 0o600 }), {}, OTHER, { state: "content", stat: file({ mtime: 5, size: 3, mode: 0o600 }), sha256: OTHER, mtimeMoved: true }],
        ["the host could not hash it", file({ mtime: 5 }), {}, undefined, { state: "content", stat: file({ mtime: 5 }), sha256: undefined, mtimeMoved: true }],
        ["no recorded mtime, same content", file(), { committedMtime: undefined }, SHA, { state: "touched", stat: file(), sha256: SHA, mtimeMoved: true }],
    ];
    for (const [name, st, over, sha, want] of byHash) {
        it(`by hash: ${name}`, () => assert.deepStrictEqual(judgeByHash(st, { ...q, ...over }, sha), want));
    }
});
