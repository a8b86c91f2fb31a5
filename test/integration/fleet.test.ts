import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { fleetProblems, rolloutBatches } from "../../sdk/plugin/components/deltaFleet";
import { collector, newStack, outputValues, REPO, StackOptions, TestBackend, testBackend, withStack } from "../helpers/pulumi";
import { ownFilesystem } from "../helpers/ownFilesystem";
import { IsolatedNetwork, Sshd, startSshd } from "../helpers/sshd";
import { filesOf, resetTree, tempDir, TreeSpec } from "../helpers/tree";
import { failure } from "../helpers/failure";

const RELEASE: TreeSpec = {
    "index.html": "<h1>edge v1</h1>\n",
    "css/site.css": "body { color: teal }\n",
    "img/logo.svg": { content: "<svg/>\n", mode: 0o600 },
};

interface TestHost {
    name: string;
    sshd: Sshd;
    /** What the host sees at the shared mount path. */
    root: string;
    ns: IsolatedNetwork;
}

/** Engine events of one operation: the step each resource took, and the errors reported against each. */
function eventLog(): { onEvent: (e: EngineEvent) => void; op: (name: string) => string | undefined; errors: (name: string) => string[]; walks: () => string[] } {
    const events: EngineEvent[] = [];
    // A host's deployment, the child the plugin's DeltaFleet registers, not the fleet component.
    const isFiles = (urn: string, name: string) => urn.endsWith(`::${name}`) && urn.includes("$delta:index:DeltaDeployment::");
    return {
        onEvent: (e) => events.push(e),
        op: (name) => events.find((e) => e.resourcePreEvent && isFiles(e.resourcePreEvent.metadata.urn, name))?.resourcePreEvent!.metadata.op,
        errors: (name) => events.filter((e) => e.diagnosticEvent?.severity === "error" && isFiles(e.diagnosticEvent.urn ?? "", name)).map((e) => e.diagnosticEvent!.message),
        // The plugin's debug line for each walk and hash of a source (one plugin process serves the whole run).
        walks: () => events.filter((e) => (e.diagnosticEvent?.severity as string | undefined) === "debug" && /walked and hashed /.test(e.diagnosticEvent!.message)).map((e) => e.diagnosticEvent!.message),
    };
}

describe("DeltaFleet inputs and rollout order (pure)", () => {
    const conn = { host: "10.0.0.1" };
    it("orders hosts: all at once, canary then one batch, canary then batches, batches alone", () => {
        const names = ["a", "b", "c", "d", "e"];
        assert.deepStrictEqual(rolloutBatches(names, undefined), [names]);
        assert.deepStrictEqual(rolloutBatches(names, {}), [names]);
        assert.deepStrictEqual(rolloutBatches(names, { canary: "c" }), [["c"], ["a", "b", "d", "e"]]);
        assert.deepStrictEqual(rolloutBatches(names, { canary: "a", batchSize: 2 }), [["a"], ["b", "c"], ["d", "e"]]);
        assert.deepStrictEqual(rolloutBatches(names, { batchSize: 3 }), [["a", "b", "c"], ["d", "e"]]);
        assert.deepStrictEqual(rolloutBatches(["a"], { canary: "a", batchSize: 4 }), [["a"]]);
    });
    it("names every bad input and its fix, all at once", () => {
        assert.deepStrictEqual(fleetProblems({ hosts: [{ name: "a", connection: conn }], rollout: { canary: "a", batchSize: 1 } }), []);
        assert.deepStrictEqual(fleetProblems({ hosts: [] }), ["hosts must be a non-empty list of { name, connection }, got []"]);
        assert.deepStrictEqual(
            fleetProblems({
                hosts: [{ name: "a", connection: conn }, { name: "", connection: conn }, { name: "a", connection: conn }, { name: "d" }],
                rollout: { canary: "z", batchSize: 0 },
                connection: conn,
            }),
            [
                "connection is per host in a fleet; move it into each entry of hosts",
                'hosts[1].name must be a non-empty string, got ""',
                'hosts[2].name "a" is already used by hosts[0]; give each host its own name',
                "hosts[3].connection is required; give the host's SSH connection",
                'rollout.canary must be the name of one of the hosts ("a", "d"), got "z"',
                "rollout.batchSize must be a whole number of hosts, 1 or more, got 0",
            ],
        );
        assert.deepStrictEqual(fleetProblems({ hosts: [{ name: "a", connection: conn }], rollout: { batchSize: 1.5 } }), ["rollout.batchSize must be a whole number of hosts, 1 or more, got 1.5"]);
    });
});

describe("DeltaFleet of 3 hosts (real engine, 3 real sshd, each host its own filesystem)", function () {
    let backend: TestBackend;
    let work: string;
    /** The path every host deploys under; on the runner it stays empty. */
    let mnt: string;
    let src: string;
    const hosts: TestHost[] = [];

    before(async () => {
        backend = testBackend();
        work = tempDir("pd-it-fleet-");
        mnt = path.join(work, "mnt");
        fs.mkdirSync(mnt);
        src = path.join(work, "src");
        for (const name of ["ams", "fra", "nyc"]) {
            const root = path.join(work, `host-${name}`);
            fs.mkdirSync(root);
            const ns = await ownFilesystem(root, mnt);
            hosts.push({ name, root, ns, sshd: await startSshd({ netns: ns }) });
        }
    });
    after(async () => {
        for (const h of hosts) {
            await h.sshd.stop();
            await h.ns.stop();
        }
        backend.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });
    beforeEach(() => {
        resetTree(src, RELEASE);
        // Empty each host's files in place: the mount holds the folder itself.
        for (const h of hosts) for (const n of fs.readdirSync(h.root)) fs.rmSync(path.join(h.root, n), { recursive: true, force: true });
    });

    const destination = () => path.join(mnt, "www", "site");
    const on = (h: TestHost, ...p: string[]) => path.join(h.root, ...p);

    function options(extra: { rollout?: object; validate?: string; hostKeys?: Record<string, string> } = {}): StackOptions {
        return {
            fixture: "fleet",
            config: {
                hosts: hosts.map((h) => ({ name: h.name, host: h.sshd.host, port: h.sshd.port, user: h.sshd.user, hostKey: extra.hostKeys?.[h.name] ?? h.sshd.hostKey })),
                source: src,
                destination: destination(),
                stateDir: path.join(mnt, "state"),
                rollout: extra.rollout,
                validate: extra.validate,
            },
            secrets: { privateKeys: JSON.stringify(Object.fromEntries(hosts.map((h) => [h.name, h.sshd.privateKey]))) },
        };
    }

    it("converges all hosts in parallel from one walk of the source, and the preview shows each host's delta", async () => {
        await withStack(backend, options(), async (stack: Stack) => {
            const events = eventLog();
            const up = await stack.up({ onEvent: events.onEvent });
            const out = outputValues(up.outputs);
            const walks = events.walks().map((m) => m.trim());
            assert.strictEqual(walks.length, 1, `one walk and hash for three hosts: ${walks.join(" | ")}`);
            assert.match(walks[0], new RegExp(`^walked and hashed ${src.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: 3 files in \\d+ ms, manifest digested and kept in \\d+ ms \\(walk 1 of this run\\)$`));
            for (const h of hosts) assert.deepStrictEqual(filesOf(on(h, "www", "site")), filesOf(src), `${h.name} has the release byte for byte`);
            assert.deepStrictEqual(fs.readdirSync(mnt), [], "each host wrote to its own filesystem");
            const added = { added: 3, changed: 0, removed: 0, bytesSent: Object.values(RELEASE).reduce((n, v) => n + Buffer.byteLength(typeof v === "string" ? v : v.content), 0) };
            assert.deepStrictEqual(out.lastDelta, { ams: added, fra: added, nyc: added });
            const digests = out.manifestDigest as Record<string, string>;
            assert.deepStrictEqual(Object.keys(digests), ["ams", "fra", "nyc"]);
            assert.strictEqual(new Set(Object.values(digests)).size, 1);
            // Without a rollout no host waits for another.
            const state = (await stack.exportStack()).deployment as { resources: { urn: string; type: string; dependencies?: string[] }[] };
            const deployments = state.resources.filter((r) => r.type === "delta:index:DeltaDeployment");
            assert.strictEqual(deployments.length, 3);
            for (const r of deployments) assert.deepStrictEqual(r.dependencies ?? [], [], r.urn);

            fs.writeFileSync(path.join(src, "index.html"), "<h1>edge v2</h1>\n");
            const preview = collector();
            await stack.preview({ onOutput: preview.onOutput });
            for (const h of hosts) {
                assert.match(preview.text(), new RegExp(`fleet-${h.name}: 0 added, 1 changed, 0 removed, 2 unchanged → ${h.sshd.user}@127\\.0\\.0\\.1:${h.sshd.port}:${destination()}`));
            }
        });
    });

    it("with one host's key wrong and --continue-on-error, that host fails naming itself and the others complete; fixed, only it converges", async () => {
        const [ams, fra, nyc] = hosts;
        await withStack(backend, options({ hostKeys: { fra: ams.sshd.hostKey } }), async (stack) => {
            const events = eventLog();
            const msg = await failure(stack.up({ continueOnError: true, onEvent: events.onEvent }));
            assert.match(msg, /fleet-fra/, "the failure names the host");
            assert.match(msg, new RegExp(`failed to connect to ${fra.sshd.user}@127\\.0\\.0\\.1:${fra.sshd.port}: .*host key`, "i"));
            assert.strictEqual(events.errors("fleet-fra").length, 1, "the engine reports the error against fra's deployment");
            assert.match(events.errors("fleet-fra")[0], /host key/i);
            assert.deepStrictEqual([events.errors("fleet-ams"), events.errors("fleet-nyc")], [[], []]);
            for (const h of [ams, nyc]) assert.deepStrictEqual(filesOf(on(h, "www", "site")), filesOf(src), `${h.name} completed`);
            assert.deepStrictEqual(fs.readdirSync(fra.root), [], "nothing reached fra");

            await stack.setConfig("hosts", { value: JSON.stringify(options().config.hosts) });
            const fixed = eventLog();
            const up = await stack.up({ onEvent: fixed.onEvent });
            assert.deepStrictEqual([fixed.op("fleet-ams"), fixed.op("fleet-fra"), fixed.op("fleet-nyc")], ["same", "create", "same"], "only fra is deployed");
            for (const h of hosts) assert.deepStrictEqual(filesOf(on(h, "www", "site")), filesOf(src), `${h.name} converged`);
            assert.deepStrictEqual((outputValues(up.outputs).lastDelta as Record<string, { added: number }>).fra.added, 3, "fra's lastDelta shows the files");
        });
    });

    it("a canary that fails halts the rollout: no other host is touched, even with --continue-on-error", async () => {
        const [ams, fra, nyc] = hosts;
        // Only the canary's own filesystem holds the marker, so only its validate fails.
        fs.writeFileSync(on(ams, "refuse-release"), "");
        await withStack(backend, options({ rollout: { canary: "ams", batchSize: 1 }, validate: `test ! -e ${path.join(mnt, "refuse-release")}` }), async (stack) => {
            const events = eventLog();
            const msg = await failure(stack.up({ continueOnError: true, onEvent: events.onEvent }));
            assert.match(msg, /fleet-ams/);
            assert.match(msg, /validate hook failed on .*: `test ! -e .*refuse-release` exited with code 1/);
            assert.deepStrictEqual(fs.readdirSync(ams.root).sort(), ["refuse-release", "state"], "the canary's files were put back");
            for (const h of [fra, nyc]) {
                assert.deepStrictEqual(fs.readdirSync(h.root), [], `${h.name} untouched`);
                assert.strictEqual(events.op(`fleet-${h.name}`), undefined, `${h.name}'s deployment never started`);
            }
        });
    });

    it("examples/edge-fleet deploys its assets to every host, the canary first and then one host at a time; destroy puts the hosts back", async () => {
        const [ams, fra, nyc] = hosts;
        // The example takes one deploy key for the fleet: let ams's client key in on the other hosts too.
        for (const h of [fra, nyc]) fs.appendFileSync(path.join(h.sshd.dir, "authorized_keys"), fs.readFileSync(`${ams.sshd.privateKeyPath}.pub`));
        const example = path.join(REPO, "examples", "edge-fleet");
        const stack = await newStack(backend, {
            fixture: example,
            config: {
                hosts: hosts.map((h) => ({ name: h.name, host: h.sshd.host, port: h.sshd.port, user: h.sshd.user, hostKey: h.sshd.hostKey })),
                destination: destination(),
                stateDir: path.join(mnt, "state"),
                batchSize: 1,
            },
            secrets: { privateKey: ams.sshd.privateKey },
        });
        try {
            const up = await stack.up();
            for (const h of hosts) assert.deepStrictEqual(filesOf(on(h, "www", "site")), filesOf(path.join(example, "assets")), `${h.name} has the assets`);
            assert.deepStrictEqual(Object.keys(outputValues(up.outputs).lastDelta as object), ["ams", "fra", "nyc"]);
            // The rollout as the engine recorded it: fra waited for the canary ams, nyc for fra.
            const state = (await stack.exportStack()).deployment as { resources: { urn: string; type: string; dependencies?: string[] }[] };
            const waitsFor = (name: string) =>
                [...new Set((state.resources.find((r) => r.type === "delta:index:DeltaDeployment" && r.urn.endsWith(`::edge-${name}`))!.dependencies ?? []).map((u) => u.slice(u.lastIndexOf("::") + 2)))].sort();
            assert.deepStrictEqual([waitsFor("ams"), waitsFor("fra"), waitsFor("nyc")], [[], ["edge-ams"], ["edge-fra"]]);
            await stack.destroy();
            for (const h of hosts) assert.ok(!fs.existsSync(on(h, "www", "site")), `${h.name} put back`);
        } finally {
            await stack.workspace.removeStack(stack.name, { force: true }).catch(() => undefined);
        }
    });
});
