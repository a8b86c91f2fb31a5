import * as assert from "assert";
import { conflictMessage, handedOver, planClaim, settleDeployment } from "../../sdk/apply/claims";
import { claimFromState, decodeLedger, encodeLedger, Ledger, OwnerId, OwnerRecord } from "../../sdk/apply/ledger";
import type { Manifest, ManifestEntry } from "../../sdk/manifest";

const sha = (c: string) => c.repeat(64);
const e = (c: string, size = 1): ManifestEntry => ({ mode: 0o644, size, sha256: sha(c) });
const dir = (o: Record<string, ManifestEntry>): Manifest => ({ kind: "dir", entries: new Map(Object.entries(o)) });
const id = (x: string) => x;

const A: OwnerId = { instance: "a1", organization: "org", project: "site", stack: "prod", urn: "urn:pulumi:prod::site::DeltaDeployment::web", name: "web" };
const A2: OwnerId = { ...A, instance: "a2" }; // a replacement: same URN, new instance
const RENAMED: OwnerId = { ...A, instance: "r1", urn: "urn:pulumi:prod::site::DeltaDeployment::web2", name: "web2" };
const OTHER_STACK: OwnerId = { instance: "s1", organization: "org", project: "site", stack: "staging", urn: "urn:pulumi:staging::site::DeltaDeployment::web", name: "web" };

function owner(o: OwnerId, dirs: string[] = []): OwnerRecord {
    return { ...o, kind: "dir", deployment: "d0", time: "t0", digest: "x", dirs };
}

function ledgerWith(owners: [OwnerId, Record<string, ManifestEntry>, string[]?][], originals: string[] = []): Ledger {
    const l = new Ledger("/srv/site", "d0");
    for (const [o, paths, dirs] of owners) {
        l.owners.set(o.instance, owner(o, dirs));
        for (const [slot, entry] of Object.entries(paths)) l.paths.set(slot, { owner: o.instance, deployment: "d0", entry, mtime: 1700000000 });
    }
    for (const s of originals) l.originals.add(s);
    return l;
}

describe("ownership ledger", () => {
    it("round-trips owners, paths, mtimes, writers and originals", () => {
        const l = ledgerWith([[A, { "a.txt": e("a"), "d/b.txt": e("b", 300) }, ["/srv/site/d"]], [OTHER_STACK, { "c.txt": e("c") }]], ["a.txt"]);
        l.paths.get("d/b.txt")!.deployment = "d1";
        l.paths.get("d/b.txt")!.mtime = 1700000123;
        const back = decodeLedger(encodeLedger(l), "ledger.json");
        assert.deepStrictEqual([...back.paths].sort(), [...l.paths].sort());
        assert.deepStrictEqual([...back.owners].sort(), [...l.owners].sort());
        assert.deepStrictEqual([...back.originals], ["a.txt"]);
        assert.strictEqual(back.lastOperation, "d0");
    });

    it("refuses a ledger of another version, saying what to do", () => {
        assert.throws(() => decodeLedger(JSON.stringify({ version: 9 }), "/s/ledger.json on h"), { message: "/s/ledger.json on h has version 9, which this version of pulumi-delta cannot read; upgrade pulumi-delta" });
    });

    it("a resource builds on the ledger's view of its own paths, not on Pulumi state", () => {
        const l = ledgerWith([[A, { "a.txt": e("a"), "gone.txt": e("g") }]]);
        const c = planClaim(l, A, dir({ "a.txt": e("a"), "new.txt": e("n") }), id, []);
        assert.deepStrictEqual([...c.previous.entries.keys()].sort(), ["a.txt", "gone.txt"]);
        assert.deepStrictEqual(c.takenOver, []);
        assert.deepStrictEqual(c.conflicts, []);
    });

    it("a replacement (same URN, new instance) inherits every path of the one it replaces", () => {
        const l = ledgerWith([[A, { "a.txt": e("a"), "only-old.txt": e("o") }]]);
        const c = planClaim(l, A2, dir({ "a.txt": e("a") }), id, []);
        assert.deepStrictEqual(c.predecessors, ["a1"]);
        assert.deepStrictEqual([...c.previous.entries.keys()].sort(), ["a.txt", "only-old.txt"]);
        assert.deepStrictEqual(c.takenOver, ["a.txt"]);
    });

    it("a renamed resource of the same stack takes over only the paths it deploys", () => {
        const l = ledgerWith([[A, { "a.txt": e("a"), "only-old.txt": e("o") }]]);
        const c = planClaim(l, RENAMED, dir({ "a.txt": e("a") }), id, []);
        assert.deepStrictEqual(c.predecessors, []);
        assert.deepStrictEqual([...c.previous.entries.keys()], ["a.txt"]);
        assert.deepStrictEqual(c.takenOver, ["a.txt"]);
    });

    it("another stack's paths are conflicts, unless takeOverFrom names that stack", () => {
        const l = ledgerWith([[OTHER_STACK, { "a.txt": e("a") }], [A, { "b.txt": e("b") }]]);
        const c = planClaim(l, A, dir({ "a.txt": e("a"), "b.txt": e("b"), "c.txt": e("c") }), id, []);
        assert.deepStrictEqual(c.conflicts.map((x) => x.slot), ["a.txt"]);
        assert.strictEqual(
            conflictMessage(c.conflicts, (s) => `/srv/site/${s}`, "root@h:22"),
            "refused before anything moved on root@h:22: 1 path (/srv/site/a.txt) belongs to stack org/site/staging, resource urn:pulumi:staging::site::DeltaDeployment::web (instance s1). " +
                'To hand them over, destroy that deployment first, or add "org/site/staging" to this deployment\'s takeOverFrom input (its destroy will then no longer touch them)',
        );
        for (const from of ["site/staging", "org/site/staging"]) {
            const ok = planClaim(l, A, dir({ "a.txt": e("a") }), id, [from]);
            assert.deepStrictEqual(ok.conflicts, [], from);
            assert.deepStrictEqual(ok.takenOver, ["a.txt"], from);
        }
        assert.strictEqual(handedOver(OTHER_STACK, ["site/prod"]), false);
    });

    it("settling moves ownership, records originals saved now, drops predecessors and empty owners", () => {
        const l = ledgerWith([[A, { "a.txt": e("a"), "old.txt": e("o") }, ["/srv/site/d"]]], ["old.txt"]);
        const next = dir({ "a.txt": e("a"), "n.txt": e("n") });
        const c = planClaim(l, A2, next, id, []);
        settleDeployment(l, A2, c, next, id, {
            id: "d1",
            time: "t1",
            digest: "sha256:n",
            puts: new Map([["n.txt", { mtime: 1700000500, savedOriginal: true }]]),
            removed: new Map([["old.txt", { restoredOriginal: true }]]),
            restamped: new Map(),
            dirs: ["/srv/site/d"],
        });
        assert.deepStrictEqual([...l.owners.keys()], ["a2"]);
        assert.deepStrictEqual(
            [...l.paths].map(([s, p]) => [s, p.owner, p.deployment, p.mtime]).sort(),
            [
                ["a.txt", "a2", "d0", 1700000000],
                ["n.txt", "a2", "d1", 1700000500],
            ],
        );
        assert.deepStrictEqual([...l.originals], ["n.txt"]);
        assert.strictEqual(l.lastOperation, "d1");
        assert.deepStrictEqual(l.owners.get("a2")!.dirs, ["/srv/site/d"]);
    });

    it("state written by 0.1 claims only the paths nobody owns", () => {
        const l = ledgerWith([[A, { "a.txt": e("a") }]]);
        const legacy: OwnerId = { instance: "v01-x", project: "site", stack: "old", name: "web" };
        const n = claimFromState(l, legacy, dir({ "a.txt": e("a"), "b.txt": e("b") }), id, ["/srv/site/x"], "t");
        assert.strictEqual(n, 1);
        assert.strictEqual(l.paths.get("a.txt")!.owner, "a1");
        assert.strictEqual(l.paths.get("b.txt")!.owner, "v01-x");
        assert.deepStrictEqual(l.owners.get("v01-x")!.dirs, ["/srv/site/x"]);
        assert.strictEqual(claimFromState(l, legacy, dir({ "c.txt": e("c") }), id, [], "t"), 0, "an owner the ledger knows claims nothing more");
    });
});
