import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { assertHost, assertRestored, hostSnapshot, plantHost, stateLeftovers } from "../helpers/hostTree";
import { alive as running, killNow, pluginPidsUnder, providerPids, recoveringUp, spawnUp, waitForPhase, waitUntil } from "../helpers/kill";
import { newStack, TestBackend, testBackend } from "../helpers/pulumi";
import { resetTree, tempDir } from "../helpers/tree";

const WATCH = path.resolve(__dirname, "..", "..", "sdk", "providers", "engineWatch.js");

/** A process that behaves as a provider mid-deployment: it watches its engine and writes progress without end. */
const PROVIDER = `require(${JSON.stringify(WATCH)}).watchEngine(); setInterval(() => console.log("site: 812/20004 files, 310.4/1240.0 MB sent"), 1); setInterval(() => {}, 1e6);`;

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

async function until(what: () => boolean, ms: number): Promise<number> {
    const start = Date.now();
    while (!what()) {
        if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 20));
    }
    return Date.now() - start;
}

describe("the provider process ends when its engine goes away", function () {
    it("exits when the engine that started it is killed (kill -9), instead of running on and holding the host", async () => {
        // sh stands in for the engine: it starts the provider, prints its pid, and is then killed.
        const engine = spawn("sh", ["-c", `node -e '${PROVIDER}' >/dev/null & echo $!; wait`], { stdio: ["ignore", "pipe", "inherit"] });
        const pid = await new Promise<number>((resolve) => engine.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
        await new Promise((r) => setTimeout(r, 500));
        assert.ok(alive(pid));
        engine.kill("SIGKILL");
        const took = await until(() => !alive(pid), 3000);
        assert.ok(took < 3000);
    });

    it("exits when its output pipe closes, instead of spinning on the failed writes", async () => {
        const child = spawn(process.execPath, ["-e", PROVIDER], { stdio: ["ignore", "pipe", "ignore"] });
        await new Promise((r) => child.stdout!.once("data", r));
        const started = Date.now();
        child.stdout!.destroy();
        const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
        assert.strictEqual(code, 1);
        assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    });
});

describe("the plugin (pulumi-resource-delta) ends when its engine is killed mid-up (real engine)", function () {
    let backend: TestBackend;
    let work: string;
    before(() => {
        backend = testBackend();
        work = tempDir("pd-it-enginewatch-");
    });
    after(() => {
        backend?.dispose();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("kill -9 of the pulumi CLI during an up: no plugin process remains a few seconds later, and the next up recovers", async () => {
        const host = path.join(work, "host");
        const stateDir = path.join(work, "state");
        const markers = path.join(work, "markers");
        const source = path.join(work, "src");
        const destination = path.join(host, "srv", "site");
        plantHost(host, { srv: 0o755, "srv/site": 0o755 }, { "srv/site/index.html": { content: "ORIGINAL index\n", mode: 0o640 } });
        const pristine = hostSnapshot(host);
        resetTree(source, { "index.html": "<h1>v1</h1>\n", "js/app.js": "console.log(1)\n" });
        fs.mkdirSync(markers);
        // No connection: the plugin deploys to this machine, so only the engine and its plugin are in play.
        const stack = await newStack(backend, { fixture: "workflow", config: { stateDir, resources: [{ name: "site", source, destination }] } });
        let ok = false;
        try {
            const run = await spawnUp(backend, stack, { PULUMI_DELTA_PHASE_MARKER_DIR: markers, PULUMI_DELTA_PHASE_DELAY_MS: "3000" });
            try {
                await waitForPhase(run, markers, "upload");
            } catch (err) {
                killNow(run.pid);
                throw err;
            }
            const plugins = providerPids(run.pid);
            assert.ok(plugins.length > 0, `the plugin is among the CLI's descendants: ${run.output()}`);
            assert.deepStrictEqual(pluginPidsUnder(backend.pulumiHome).sort(), [...plugins].sort(), "every plugin process of this Pulumi home is the run's");
            killNow(run.pid);
            await run.exited;
            const gone = await waitUntil(() => pluginPidsUnder(backend.pulumiHome).length === 0 && plugins.every((p) => !running(p)), 10000);
            const left = pluginPidsUnder(backend.pulumiHome);
            for (const p of left) killNow(p);
            assert.ok(gone, `no plugin process remains 10 s after the CLI was killed (still running: ${left.join(", ")})`);

            const { out } = await recoveringUp(stack);
            assert.ok(out.summary.result === "succeeded", `the next up succeeded: ${out.summary.result}`);
            assertHost(host, pristine, [{ at: "srv/site", source }], "after the next up");
            await stack.destroy();
            assertRestored(host, pristine, "after destroy");
            assert.deepStrictEqual(stateLeftovers(stateDir), [], "only records/ remains under stateDir");
            ok = true;
        } finally {
            if (!ok) await stack.destroy().catch(() => stack.cancel().catch(() => undefined));
            await stack.workspace.removeStack(stack.name, { force: true }).catch(() => undefined);
        }
    });
});
