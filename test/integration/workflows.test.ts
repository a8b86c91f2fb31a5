import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Stack, UpResult } from "@pulumi/pulumi/automation";
import { assertHost, assertRestored, hostSnapshot, HostSnapshot, NOBODY, Overlay, plantHost, stateLeftovers } from "../helpers/hostTree";
import { alive, killNow, markedPhases, PHASES, providerPids, recoveringUp, spawnUp, waitForPhase, waitUntil } from "../helpers/kill";
import { newStack, outputValues, setConfig, StackOptions, TestBackend, testBackend } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { resetTree, tempDir, TreeSpec } from "../helpers/tree";

/**
 * Every ordinary Pulumi workflow on a host that already has files where the
 * deployments go, and files of its own beside them: after each up and
 * destroy the host holds exactly what the live deployments put plus what
 * was there, and the final destroy gives back the pre-deployment tree with
 * every byte, mode, owner and mtime.
 */

const PROJECT = "pulumi-delta-workflow";
const DEPLOYMENT_TYPE = "delta:index:DeltaDeployment";

const V1: TreeSpec = {
    "index.html": "<h1>v1</h1>\n",
    "conf/app.conf": "listen 8080;\n",
    "js/app.js": "console.log('v1')\n",
    "img/logo.svg": "<svg/>\n",
    "docs/deep/readme.txt": "nested v1\n",
};
/** One changed, two removed (one with its folders), one added; the paths that had originals stay deployed. */
const V2: TreeSpec = {
    "index.html": "<h1>v2</h1>\n",
    "conf/app.conf": "listen 8080;\n",
    "js/app.js": "console.log('v1')\n",
    "fonts/new.woff": "font\n",
};
/** Stack A's and stack B's halves of one destination: no path in common. */
const PART_A: TreeSpec = { "index.html": "<h1>a</h1>\n", "a/one.txt": "a1\n", "a/deep/two.txt": "a2\n" };
const PART_B: TreeSpec = { "conf/app.conf": "listen 9090;\n", "b/one.txt": "b1\n" };
/** Overlaps V1 at index.html. */
const OVERLAP: TreeSpec = { "index.html": "<h1>other stack</h1>\n", "other/only.txt": "o\n" };
const SMALL: TreeSpec = { "index.html": "<h1>small</h1>\n", "sub/new.txt": "new\n" };

type Resource = { name: string; source: string; destination: string; onDestroy?: string; aliases?: string[]; takeOverFrom?: string[] };

describe("DeltaDeployment workflows: no ordinary Pulumi workflow loses a host's file (real engine, real sshd)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let work: string;
    let host: string;
    let stateDir: string;
    /** The host before any deployment. */
    let pristine: HostSnapshot;

    before(async () => {
        backend = testBackend();
        sshd = await startSshd();
    });
    after(async () => {
        await sshd?.stop();
        backend?.dispose();
    });
    beforeEach(() => {
        work = tempDir("pd-it-wf-");
        host = path.join(work, "host");
        stateDir = path.join(work, "state");
        // Files at deployed paths (index.html, conf/app.conf) and foreign files beside them, all nobody's, with old mtimes.
        plantHost(host, { srv: 0o755, "srv/site": 0o775, "srv/site/conf": 0o750, "srv/other": 0o755, "srv/third": 0o700 }, {
            "srv/site/index.html": { content: "ORIGINAL index\n", mode: 0o640 },
            "srv/site/conf/app.conf": { content: "# original conf\n", mode: 0o600 },
            "srv/site/conf/local.conf": { content: "# the host's own\n", mode: 0o644 },
            "srv/site/keep.txt": { content: "not ours\n", mode: 0o604, uid: 0, gid: NOBODY },
            "srv/beside.txt": { content: "neighbour\n", mode: 0o644 },
            "srv/other/index.html": { content: "ORIGINAL other\n", mode: 0o444 },
            "srv/other/notes.txt": { content: "other's own\n", mode: 0o600 },
            "srv/third/index.html": { content: "ORIGINAL third\n", mode: 0o640 },
            "srv/third/readme": { content: "third's own\n", mode: 0o644 },
        });
        pristine = hostSnapshot(host);
    });
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    const dest = (name = "site") => path.join(host, "srv", name);
    const at = (source: string, name = "site"): Overlay => ({ at: `srv/${name}`, source });

    function source(name: string, spec: TreeSpec): string {
        const dir = path.join(work, `src-${name}`);
        resetTree(dir, spec);
        return dir;
    }

    function options(resources: Resource[], env?: Record<string, string>): StackOptions {
        return {
            fixture: "workflow",
            config: { host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey, stateDir, resources },
            secrets: { privateKey: sshd.privateKey },
            env,
        };
    }

    function instanceId(up: UpResult, name: string): string {
        const id = (outputValues(up.outputs)[name] as { instanceId?: unknown } | undefined)?.instanceId;
        assert.ok(typeof id === "string" && id.length > 0, `${name}.instanceId is a non-empty string, got ${JSON.stringify(id)}`);
        return id;
    }

    async function urnOf(stack: Stack, name: string): Promise<string> {
        const { deployment } = await stack.exportStack();
        const r = (deployment.resources as { urn: string; type: string }[]).find((x) => x.type === DEPLOYMENT_TYPE && x.urn.endsWith(`::${name}`));
        assert.ok(r, `no ${DEPLOYMENT_TYPE} named ${name} in the stack`);
        return r.urn;
    }

    /**
     * Runs a scenario on a fresh stack. Every scenario ends by destroying
     * everything itself, so on success the stack is only removed (no second
     * destroy, which costs an engine run); after a failure it is destroyed.
     */
    async function scenario(o: StackOptions, fn: (stack: Stack) => Promise<void>): Promise<void> {
        const stack = await newStack(backend, o);
        let ok = false;
        try {
            await fn(stack);
            ok = true;
        } finally {
            if (!ok) await stack.destroy().catch(() => stack.cancel().catch(() => undefined));
            await stack.workspace.removeStack(stack.name, { force: !ok });
        }
    }

    /** After the last destroy: the pre-deployment tree exactly, and nothing of ours on the host but the records. */
    function assertAllGone(what: string): void {
        assertRestored(host, pristine, `${what}: the host is the pre-deployment tree again`);
        assert.deepStrictEqual(stateLeftovers(stateDir), [], `${what}: only records/ remains under stateDir`);
    }

    it("up, change, up --replace, destroy", async () => {
        const src = source("site", V1);
        await scenario(options([{ name: "site", source: src, destination: dest() }]), async (stack) => {
            const up1 = await stack.up();
            assertHost(host, pristine, [at(src)], "after the first up");
            resetTree(src, V2);
            await stack.up();
            assertHost(host, pristine, [at(src)], "after the change");
            const up3 = await stack.up({ replace: [await urnOf(stack, "site")] });
            assertHost(host, pristine, [at(src)], "after up --replace: the new instance took the paths over, the old one's delete left them");
            await stack.destroy();
            assertAllGone("after destroy");
            assert.notStrictEqual(instanceId(up3, "site"), instanceId(up1, "site"), "a replaced resource has a new instanceId");
        });
    });

    for (const alias of [false, true]) {
        it(`up, rename ${alias ? "with" : "without"} an alias, up, destroy`, async () => {
            const src = source("site", V1);
            await scenario(options([{ name: "site", source: src, destination: dest() }]), async (stack) => {
                const up1 = await stack.up();
                assertHost(host, pristine, [at(src)], "after the first up");
                await setConfig(stack, options([{ name: "web", source: src, destination: dest(), ...(alias ? { aliases: ["site"] } : {}) }]));
                const up2 = await stack.up();
                const changes = up2.summary.resourceChanges ?? {};
                if (alias) assert.ok(!changes.create && !changes.delete && !changes.replace, `an alias renames in place: ${JSON.stringify(changes)}`);
                else assert.ok(changes.create && changes.delete, `without an alias the rename is a create and a delete: ${JSON.stringify(changes)}`);
                assertHost(host, pristine, [at(src)], `after the rename ${alias ? "with" : "without"} an alias`);
                await stack.destroy();
                assertAllGone("after destroy");
                if (alias) assert.strictEqual(instanceId(up2, "web"), instanceId(up1, "site"), "a renamed (aliased) resource keeps its instanceId");
            });
        });
    }

    it("two stacks, overlapping paths: the second is refused naming the first and writes nothing; handed over with takeOverFrom", async () => {
        const srcA = source("a", V1);
        const srcB = source("b", OVERLAP);
        await scenario(options([{ name: "site", source: srcA, destination: dest() }]), async (a) => {
            await a.up();
            assertHost(host, pristine, [at(srcA)], "after stack A's up");
            await scenario(options([{ name: "site", source: srcB, destination: dest() }]), async (b) => {
                const untouched = hostSnapshot(host);
                await assert.rejects(b.up(), (err: Error) => {
                    for (const part of [`${PROJECT}/${a.name}`, "::site", path.join(dest(), "index.html"), "takeOverFrom"]) assert.ok(err.message.includes(part), `the refusal names ${part}: ${err.message}`);
                    assert.match(err.message, /destroy/, "the refusal says destroying the other deployment first also hands the paths over");
                    return true;
                });
                assert.deepStrictEqual(hostSnapshot(host), untouched, "the refused deployment wrote nothing on the host");

                await setConfig(b, options([{ name: "site", source: srcB, destination: dest(), takeOverFrom: [`${PROJECT}/${a.name}`] }]));
                await b.up();
                assertHost(host, pristine, [at(srcA), at(srcB)], "after stack B took index.html over");
                await a.destroy();
                assertHost(host, pristine, [at(srcB)], "stack A's destroy touched only the paths it still owned");
                await b.destroy();
                assertAllGone("after both destroys");
            });
        });
    });

    it("two stacks, disjoint paths in one destination: both deploy; destroyed in both orders", async () => {
        const srcA = source("a", PART_A);
        const srcB = source("b", PART_B);
        await scenario(options([{ name: "site", source: srcA, destination: dest() }]), async (a) => {
            await scenario(options([{ name: "site", source: srcB, destination: dest() }]), async (b) => {
                for (const [first, second, firstSrc, secondSrc] of [
                    [a, b, srcA, srcB],
                    [b, a, srcB, srcA],
                ] as const) {
                    await a.up();
                    await b.up();
                    assertHost(host, pristine, [at(srcA), at(srcB)], "after both ups");
                    await first.destroy();
                    assertHost(host, pristine, [at(secondSrc)], `after the destroy of the stack deploying ${path.basename(firstSrc)}`);
                    await second.destroy();
                    assertAllGone(`after the destroy of ${path.basename(secondSrc)} too`);
                }
            });
        });
    });

    it("two resources of one stack on one destination, created in one up (held open so they overlap): the second waits for the first", async () => {
        const srcA = source("a", PART_A);
        const srcB = source("b", PART_B);
        const markers = tempDir("pd-it-wf-markers-");
        const slow = { PULUMI_DELTA_PHASE_MARKER_DIR: markers, PULUMI_DELTA_PHASE_DELAY_MS: "400" };
        try {
            const resources = [
                { name: "one", source: srcA, destination: dest() },
                { name: "two", source: srcB, destination: dest() },
            ];
            await scenario(options(resources, slow), async (stack) => {
                const up = await stack.up();
                assert.deepStrictEqual(up.summary.resourceChanges?.create, 3, "both deployments (and the stack) created");
                assertHost(host, pristine, [at(srcA), at(srcB)], "after the up");
                await stack.destroy();
                assertAllGone("after destroy");
                assert.deepStrictEqual(markedPhases(markers), [...PHASES], "the provider marked each phase it entered (so the two runs overlapped)");
            });
        } finally {
            fs.rmSync(markers, { recursive: true, force: true });
        }
    });

    it("a changed destination: the old one is given back, the new one deployed", async () => {
        const src = source("site", V1);
        await scenario(options([{ name: "site", source: src, destination: dest() }]), async (stack) => {
            const up1 = await stack.up();
            assertHost(host, pristine, [at(src)], "after the first up");
            await setConfig(stack, options([{ name: "site", source: src, destination: dest("other") }]));
            const up2 = await stack.up();
            assertHost(host, pristine, [at(src, "other")], "after the move: srv/site is as before, srv/other has the deployment");
            await stack.destroy();
            assertAllGone("after destroy");
            assert.notStrictEqual(instanceId(up2, "site"), instanceId(up1, "site"), "a replaced resource has a new instanceId");
        });
    });

    it("each onDestroy mode: restore gives the tree back, remove deletes what it owns, retain leaves it", async () => {
        const src = source("small", SMALL);
        const resources = [
            { name: "restored", source: src, destination: dest("site"), onDestroy: "restore" },
            { name: "removed", source: src, destination: dest("other"), onDestroy: "remove" },
            { name: "retained", source: src, destination: dest("third"), onDestroy: "retain" },
        ];
        await scenario(options(resources), async (stack) => {
            await stack.up();
            assertHost(host, pristine, [at(src, "site"), at(src, "other"), at(src, "third")], "after the up");
            await stack.destroy();
            // remove: every path the deployment owned is gone (its original with it), created folders too; the host's own files stay.
            const withoutRemoved = Object.fromEntries(Object.entries(pristine).filter(([p]) => p !== "srv/other/index.html"));
            assertHost(host, withoutRemoved, [at(src, "third")], "after destroy");
            assert.deepStrictEqual(stateLeftovers(stateDir), [], "only records/ remains under stateDir");
        });
    });

    for (const first of [false, true]) {
        it(`a run killed after the host committed (at bookkeeping) of ${first ? "a create" : "an update"}; then a source that removes files removes them`, async () => {
            const src = source("site", V1);
            const markers = tempDir("pd-it-wf-markers-");
            try {
                await scenario(options([{ name: "site", source: src, destination: dest() }]), async (stack) => {
                    if (!first) {
                        await stack.up();
                        assertHost(host, pristine, [at(src)], "after the first up");
                    }
                    // The killed run deploys two new files (one in a new folder) and changes one.
                    resetTree(src, { ...V1, "index.html": "<h1>killed run</h1>\n", "new/x.txt": "x\n", "new/deep/y.txt": "y\n" });
                    const run = await spawnUp(backend, stack, { PULUMI_DELTA_PHASE_MARKER_DIR: markers, PULUMI_DELTA_PHASE_DELAY_MS: "1000" });
                    try {
                        await waitForPhase(run, markers, "bookkeeping");
                    } catch (err) {
                        killNow(run.pid);
                        throw err;
                    }
                    const providers = providerPids(run.pid);
                    assert.ok(providers.length > 0, "the run's provider is found among the CLI's descendants");
                    killNow(run.pid);
                    await run.exited;
                    assert.ok(await waitUntil(() => providers.every((p) => !alive(p)), 15000), `the provider (${providers.join(", ")}) exits when the engine goes away`);
                    assertHost(host, pristine, [at(src)], "the host committed the killed run's deployment");

                    // Pulumi's state does not know the killed run's files; the host does.
                    resetTree(src, { ...V1, "index.html": "<h1>after</h1>\n", "new/deep/y.txt": "y\n" });
                    await recoveringUp(stack);
                    assertHost(host, pristine, [at(src)], "the next up removed new/x.txt, which only the killed run had deployed");
                    await stack.destroy();
                    assertAllGone("after destroy");
                });
            } finally {
                fs.rmSync(markers, { recursive: true, force: true });
            }
        });
    }
});

