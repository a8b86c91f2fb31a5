import * as assert from "assert";
import { hostChunkListPath, layoutFor, stampPath } from "../../sdk/apply/layout";
import { decodeStamp, driftReason, encodeStamp, FileStamp, StampLookup } from "../../sdk/apply/stamp";
import type { RemoteStat } from "../../sdk/transport";

const SHA_A = "aa".repeat(32);
const SHA_B = "bb".repeat(32);

describe("stamps of deployed large files", () => {
    const stamp: FileStamp = { target: "/srv/media/it's a\nname.bin", sha256: SHA_A, size: 67108864, mtime: 1700000000 };

    it("encode to one versioned JSON line and decode exactly, whatever the path holds", () => {
        const text = encodeStamp(stamp);
        assert.strictEqual(text, `{"version":1,"target":"/srv/media/it's a\\nname.bin","sha256":"${SHA_A}","size":67108864,"mtime":1700000000}\n`);
        assert.deepStrictEqual(decodeStamp(text), stamp);
    });

    it("refuse what is not a stamp, saying why", () => {
        const cases: [string, string][] = [
            ["", "not a pulumi-delta stamp (not JSON)"],
            ["{\"version\":1,\"target\":\"/x\",\"sha256\":\"" + SHA_A + "\",\"size\":1", "not a pulumi-delta stamp (not JSON)"],
            ["null", "unsupported stamp version undefined"],
            ['{"version":2}', "unsupported stamp version 2"],
            [`{"version":1,"target":"/x","sha256":"${SHA_A.toUpperCase()}","size":1,"mtime":1}`, "malformed stamp (needs target, sha256 as 64 hex, size and mtime as non-negative integers)"],
            [`{"version":1,"target":"/x","sha256":"${SHA_A}","size":-1,"mtime":1}`, "malformed stamp (needs target, sha256 as 64 hex, size and mtime as non-negative integers)"],
            [`{"version":1,"target":"/x","sha256":"${SHA_A}","size":1,"mtime":1.5}`, "malformed stamp (needs target, sha256 as 64 hex, size and mtime as non-negative integers)"],
            [`{"version":1,"sha256":"${SHA_A}","size":1,"mtime":1}`, "malformed stamp (needs target, sha256 as 64 hex, size and mtime as non-negative integers)"],
        ];
        for (const [text, message] of cases) assert.throws(() => decodeStamp(text), { message }, text);
    });

    it("live in the destination's folder: chunk lists by file hash, stamps by target path", () => {
        const layout = layoutFor("/var/lib/pulumi-delta", "/srv/media");
        assert.strictEqual(layout.chunks, `${layout.folder}/chunks`);
        assert.strictEqual(hostChunkListPath(layout, SHA_A), `${layout.folder}/chunks/${SHA_A}.pdc1`);
        assert.match(stampPath(layout, "/srv/media/a.bin"), new RegExp(`^${layout.folder}/chunks/[0-9a-f]{32}\\.stamp$`));
        assert.notStrictEqual(stampPath(layout, "/srv/media/a.bin"), stampPath(layout, "/srv/media/b.bin"));
    });
});

describe("drift of a large file on the host", () => {
    const target = "/srv/media/a.bin";
    const previous = { mode: 0o644, size: 1000, sha256: SHA_A };
    const file = (size: number, mtime: number): RemoteStat => ({ kind: "file", mode: 0o644, size, mtime });
    const found = (s: Partial<FileStamp> = {}): StampLookup => ({ kind: "found", stamp: { target, sha256: SHA_A, size: 1000, mtime: 500, ...s } });

    const cases: [string, RemoteStat | undefined, StampLookup, string | undefined][] = [
        ["size and mtime as recorded", file(1000, 500), found(), undefined],
        ["no stamp (deployed before stamps): size alone", file(1000, 999), { kind: "none" }, undefined],
        ["gone", undefined, found(), "/srv/media/a.bin is gone from the host"],
        ["replaced by a directory", { kind: "dir", mode: 0o755, size: 4096, mtime: 500 }, found(), "/srv/media/a.bin is a dir on the host"],
        ["size moved", file(999, 500), found(), "/srv/media/a.bin has 999 bytes on the host, the last deployment left 1000"],
        ["same size, mtime moved", file(1000, 501), found(), "/srv/media/a.bin was modified on the host after the last deployment (size 1000, mtime 501; recorded 1000, 500)"],
        ["stamp of another version", file(1000, 500), found({ sha256: SHA_B }), "the record of /srv/media/a.bin's size and mtime is for another version"],
        ["stamp of another path", file(1000, 500), found({ target: "/srv/media/b.bin" }), "the record of /srv/media/a.bin's size and mtime is for another version"],
        ["stamp recorded another size", file(1000, 500), found({ size: 1001 }), "/srv/media/a.bin was modified on the host after the last deployment (size 1000, mtime 500; recorded 1001, 500)"],
        ["unreadable stamp", file(1000, 500), { kind: "unreadable", why: "malformed stamp" }, "the record of /srv/media/a.bin's size and mtime is unreadable: malformed stamp"],
    ];
    for (const [name, onHost, recorded, expected] of cases) {
        it(name, () => assert.strictEqual(driftReason(target, onHost, previous, recorded), expected));
    }
});
