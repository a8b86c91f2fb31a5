import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { deploy, destinationKey, destroy, legacyInstanceId, OwnerId } from "../../sdk/apply";
import { buildManifest } from "../../sdk/manifest";
import { connectSsh, LocalTransport, Transport } from "../../sdk/transport";
import { Sshd, startSshd } from "../helpers/sshd";
import { contentOf, resetTree, snapshot, tempDir, writeTree } from "../helpers/tree";

/** The transport, but the connection drops when `when` first matches a call: that call and every later one fail. */
function dropsAt(t: Transport, when: (method: string, args: unknown[]) => boolean): Transport {
    let dropped = false;
    return new Proxy(t, {
        get(target, prop, receiver) {
            const value = Reflect.get(target, prop, receiver);
            if (typeof value !== "function") return value;
            return (...args: unknown[]) => {
                if (prop !== "close" && (dropped || when(String(prop), args))) {
                    dropped = true;
                    return Promise.reject(new Error("connection lost"));
                }
                return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
        },
    });
}

const PROJECT = "site";
const STACK = "prod";

for (const kind of ["local", "ssh"] as const) {
    describe(`ownership ledger over ${kind}: the host, not Pulumi state, says who owns what`, function () {
        let sshd: Sshd | undefined;
        let work: string;
        let src: string;
        let host: string;
        let dest: string;
        let stateDir: string;
        let folder: string;
        const open = async (): Promise<Transport> => (sshd ? connectSsh(sshd.connection()) : new LocalTransport());
        const me: OwnerId = { instance: "i-1", project: PROJECT, stack: STACK, urn: "urn:pulumi:prod::site::pulumi-delta:index:DeltaDeployment::web", name: "web" };

        before(async () => {
            if (kind === "ssh") sshd = await startSshd();
        });
        after(async () => sshd?.stop());
        beforeEach(() => {
            work = tempDir("pd-ledger-");
            src = path.join(work, "src");
            host = path.join(work, "host");
            dest = path.join(host, "site");
            stateDir = path.join(work, "state");
            folder = path.join(stateDir, destinationKey(dest));
            writeTree(dest, { "index.html": "ORIGINAL index\n", "keep.txt": "not ours\n" });
        });
        afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

        it("a host ahead of Pulumi state is taken as it is: nothing resent, removals happen, destroy restores", async () => {
            const before = contentOf(snapshot(host));
            const t = await open();
            try {
                resetTree(src, { "index.html": "v1\n", "a.txt": "a1\n" });
                const v1 = buildManifest(src);
                await deploy(t, { source: src, destination: dest, stateDir, next: v1, identity: me });
                resetTree(src, { "index.html": "v1\n", "a.txt": "a1\n", "b/added-in-v2.txt": "b2\n" });
                const v2 = buildManifest(src);
                await deploy(t, { source: src, destination: dest, stateDir, previous: v1, next: v2, identity: me });
                // Pulumi never recorded v2 (the run was killed after the host committed): state still says v1.
                resetTree(src, { "index.html": "v3\n", "a.txt": "a1\n" });
                const v3 = buildManifest(src);
                const lines: string[] = [];
                const r = await deploy(t, { source: src, destination: dest, stateDir, previous: v1, next: v3, identity: me, log: (l) => lines.push(l) });
                assert.ok(lines.some((l) => /the host holds a later deployment of this resource .* than Pulumi's state; taking the host as it is/.test(l)), lines.join("\n"));
                assert.deepStrictEqual({ added: r.delta.added, changed: r.delta.changed, removed: r.delta.removed }, { added: [], changed: ["index.html"], removed: ["b/added-in-v2.txt"] });
                assert.strictEqual(r.bytesSent, 3, "only index.html travels");
                assert.ok(!fs.existsSync(path.join(dest, "b")), "the file v2 added and its folder are gone");
                await destroy(t, { destination: dest, stateDir, deployed: v1, createdDirs: [], onDestroy: "restore", identity: me });
                assert.deepStrictEqual(contentOf(snapshot(host)), before);
                assert.deepStrictEqual(fs.readdirSync(folder), ["records"]);
            } finally {
                await t.close();
            }
        });

        it("a run that reached its commit point and then lost the host is finished by the next run, not undone", async () => {
            const before = contentOf(snapshot(host));
            const t = await open();
            try {
                resetTree(src, { "index.html": "v1\n" });
                const v1 = buildManifest(src);
                await deploy(t, { source: src, destination: dest, stateDir, next: v1, identity: me });
                resetTree(src, { "index.html": "v2\n", "new.txt": "n\n" });
                const v2 = buildManifest(src);
                await assert.rejects(
                    deploy(dropsAt(t, (m, a) => m === "unlink" && String(a[0]).endsWith("journal.json")), { source: src, destination: dest, stateDir, previous: v1, next: v2, identity: me }),
                    /connection lost; the deployment had reached its commit point, so .*journal\.json on .* stays for the next pulumi up, which finishes or undoes it/,
                );
                assert.ok(fs.existsSync(path.join(folder, "journal.json")));
                const lines: string[] = [];
                // State still says v1; the host says v2: the next run finishes v2 and has nothing left to send.
                const r = await deploy(t, { source: src, destination: dest, stateDir, previous: v1, next: v2, identity: me, log: (l) => lines.push(l) });
                assert.ok(lines.some((l) => /finished an interrupted run .* that had committed/.test(l)), lines.join("\n"));
                assert.ok(lines.some((l) => /broke the lock of a run that is gone/.test(l)), lines.join("\n"));
                assert.strictEqual(r.bytesSent, 0);
                assert.strictEqual(fs.readFileSync(path.join(dest, "index.html"), "utf8"), "v2\n");
                assert.ok(!fs.existsSync(path.join(folder, "journal.json")) && !fs.existsSync(path.join(folder, "backup")));
                await destroy(t, { destination: dest, stateDir, deployed: v2, createdDirs: [], onDestroy: "restore", identity: me });
                assert.deepStrictEqual(contentOf(snapshot(host)), before);
            } finally {
                await t.close();
            }
        });

        it("folders made for a create that died mid-upload are journaled first: the next run removes them, and destroy leaves none", async () => {
            const before = contentOf(snapshot(host));
            const t = await open();
            try {
                resetTree(src, { "index.html": "v1\n", "d1/a.txt": "a\n", "d2/deep/b.txt": "b\n" });
                const v1 = buildManifest(src);
                await assert.rejects(deploy(dropsAt(t, (m) => m === "upload"), { source: src, destination: dest, stateDir, next: v1, identity: me }), /connection lost/);
                assert.ok(fs.existsSync(path.join(dest, "d2", "deep")), "the run died with its folders made");
                // Pulumi never recorded the create: the next one is a new instance.
                const again: OwnerId = { ...me, instance: "i-2" };
                const lines: string[] = [];
                await deploy(t, { source: src, destination: dest, stateDir, next: v1, identity: again, log: (l) => lines.push(l) });
                assert.ok(lines.some((l) => /undid an interrupted run/.test(l)), lines.join("\n"));
                await destroy(t, { destination: dest, stateDir, deployed: v1, createdDirs: [], onDestroy: "restore", identity: again });
                assert.deepStrictEqual(contentOf(snapshot(host)), before);
                assert.deepStrictEqual(fs.readdirSync(path.join(dest)).sort(), ["index.html", "keep.txt"], "no folder of the killed run is left");
            } finally {
                await t.close();
            }
        });

        it("converts a destination written by 0.1 on first contact: its originals stay the originals", async () => {
            const before = contentOf(snapshot(host));
            const t = await open();
            try {
                resetTree(src, { "index.html": "v1\n", "a.txt": "a1\n" });
                const v1 = buildManifest(src);
                const legacy: OwnerId = { instance: legacyInstanceId(PROJECT, STACK, "web", dest), project: PROJECT, stack: STACK, name: "web" };
                await deploy(t, { source: src, destination: dest, stateDir, next: v1, identity: legacy, owner: { project: PROJECT, stack: STACK, resource: "web" } });
                // What 0.1 left: the same originals/ and records, without a ledger or instance ids.
                fs.rmSync(path.join(folder, "ledger.json"));
                for (const f of fs.readdirSync(path.join(folder, "records"))) {
                    const p = path.join(folder, "records", f);
                    const { instance: _instance, ...rest } = JSON.parse(fs.readFileSync(p, "utf8")) as Record<string, unknown>;
                    fs.writeFileSync(p, JSON.stringify(rest, null, 2) + "\n");
                }
                // The move to this version replaces the resource: a new instance of the same resource deploys first.
                const next: OwnerId = { ...me, instance: "i-new", name: "web" };
                resetTree(src, { "index.html": "v2\n", "a.txt": "a1\n" });
                const v2 = buildManifest(src);
                const lines: string[] = [];
                const r = await deploy(t, { source: src, destination: dest, stateDir, next: v2, identity: next, log: (l) => lines.push(l) });
                assert.ok(lines.some((l) => /written by pulumi-delta 0\.1, to an ownership ledger/.test(l)), lines.join("\n"));
                assert.deepStrictEqual(r.delta.changed, ["index.html"]);
                assert.deepStrictEqual(r.delta.added, [], "a.txt was deployed by the 0.1 resource: taken over, not sent");
                assert.strictEqual(fs.readFileSync(path.join(folder, "originals", "index.html"), "utf8"), "ORIGINAL index\n");
                // The 0.1 resource's delete touches nothing now; the new one's destroy restores the original.
                const gone = await destroy(t, { destination: dest, stateDir, deployed: v1, createdDirs: [], onDestroy: "restore", identity: legacy });
                assert.deepStrictEqual([gone.removed, gone.restored], [0, 0]);
                assert.strictEqual(fs.readFileSync(path.join(dest, "index.html"), "utf8"), "v2\n");
                await destroy(t, { destination: dest, stateDir, deployed: v2, createdDirs: [], onDestroy: "restore", identity: next });
                assert.deepStrictEqual(contentOf(snapshot(host)), before);
                assert.deepStrictEqual(fs.readdirSync(folder), ["records"]);
            } finally {
                await t.close();
            }
        });

        it("a stateDir given as ~/… is checked against the destination on the host, before anything is written", async () => {
            const t = await open();
            try {
                resetTree(src, { "a.txt": "a\n" });
                const inside = path.join(dest, "meta");
                const given = `~/${path.posix.relative(await t.homeDir(), inside)}`;
                await assert.rejects(deploy(t, { source: src, destination: dest, stateDir: given, next: buildManifest(src), identity: me }), (err: Error) => {
                    assert.strictEqual(
                        err.message,
                        `stateDir ${JSON.stringify(given)} (${inside} on ${t.host}) and destination ${JSON.stringify(dest)} overlap; keep deployment metadata outside what services read: set stateDir to a folder apart from the destination, e.g. "/var/lib/pulumi-delta"`,
                    );
                    return true;
                });
                assert.ok(!fs.existsSync(inside));
            } finally {
                await t.close();
            }
        });
    });
}
