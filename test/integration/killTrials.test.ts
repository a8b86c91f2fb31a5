import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { destinationKey } from "../../sdk/apply";
import { hostSnapshot, HostSnapshot } from "../helpers/hostTree";
import { plantTrialHost, writeTrialV1, writeTrialV2 } from "../helpers/trialHost";
import { PHASES } from "../helpers/kill";
import { formatMatrix, planTrials, runTrial, TrialResult, TrialWorld } from "../helpers/killTrial";
import { seeded } from "../helpers/trialMatrix";
import { newStack, setConfig, StackOptions, TestBackend, testBackend } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { tempDir } from "../helpers/tree";

/**
 * Kill trials: `pulumi up` runs killed with SIGKILL — the CLI, or the
 * provider plugin the engine started (`pulumi-resource-delta`, the process
 * that holds the host's lock) — in each deployment phase (by the provider's
 * phase markers) or at a random moment. The next `pulumi up` must succeed
 * with no manual step on the host and leave it equal to the source plus the
 * host's own files; destroy must give back the pre-deployment tree exactly.
 * `PULUMI_DELTA_KILL_TRIALS` (default 8: two per phase) sets how many,
 * `PULUMI_DELTA_KILL_DELAY_MS` how long each phase is held open (default
 * 400), `PULUMI_DELTA_KILL_SEED` the random timers; `scripts/kill-trials.sh`
 * runs 50 and prints the matrix.
 */

const TRIALS = Number(process.env.PULUMI_DELTA_KILL_TRIALS ?? 8);
const DELAY_MS = Number(process.env.PULUMI_DELTA_KILL_DELAY_MS ?? 400);
const SEED = Number(process.env.PULUMI_DELTA_KILL_SEED ?? Date.now() % 2 ** 31);
const SMALL_FILES = 300;
/** A few 8 MiB files make the upload take a moment; CI uses one, the 50-trial script three. */
const LARGE_FILES = Number(process.env.PULUMI_DELTA_KILL_LARGE_FILES ?? 1);

describe(`kill trials: ${TRIALS} pulumi up runs killed with SIGKILL, each recovered by the next up (real engine, real sshd)`, function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let work: string;
    let stack: Stack;
    let world: TrialWorld;
    let pristine: HostSnapshot;
    const results: TrialResult[] = [];
    const random = seeded(SEED);
    const plans = planTrials(TRIALS, DELAY_MS, random);

    const paths = () => {
        const host = path.join(work, "host");
        const destination = path.join(host, "srv", "app");
        return { host, destination, stateDir: path.join(work, "state"), v1: path.join(work, "src-v1"), v2: path.join(work, "src-v2") };
    };

    function options(source: string): StackOptions {
        const p = paths();
        return {
            fixture: "workflow",
            config: { host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey, stateDir: p.stateDir, resources: [{ name: "site", source, destination: p.destination }] },
            secrets: { privateKey: sshd.privateKey },
        };
    }

    const plant = () => plantTrialHost(paths().host, paths().stateDir);

    before(async () => {
        backend = testBackend();
        sshd = await startSshd();
        work = tempDir("pd-it-kill-");
        const p = paths();
        writeTrialV1(p.v1, random, SMALL_FILES, LARGE_FILES);
        writeTrialV2(p.v1, p.v2, LARGE_FILES);
        plant();
        pristine = hostSnapshot(p.host);
        stack = await newStack(backend, options(p.v1));
        let current = p.v1;
        world = {
            backend,
            get stack() {
                return stack;
            },
            host: p.host,
            at: "srv/app",
            stateDir: p.stateDir,
            folder: path.join(p.stateDir, destinationKey(p.destination)),
            pristine,
            useSource: async (version) => {
                const next = version === "v1" ? p.v1 : p.v2;
                if (next !== current) await setConfig(stack, options(next));
                current = next;
                return next;
            },
            delayMs: DELAY_MS,
            markers: path.join(work, "markers"),
        };
    });

    after(async () => {
        if (results.length) {
            const text = `kill trials (seed ${SEED}, phase delay ${DELAY_MS} ms, ${SMALL_FILES} small + ${LARGE_FILES} × 8 MiB files):\n${formatMatrix(results)}\n`;
            console.log(`\n${text}`);
            if (process.env.PULUMI_DELTA_KILL_MATRIX) fs.writeFileSync(process.env.PULUMI_DELTA_KILL_MATRIX, text);
        }
        if (stack) {
            await stack.destroy().catch(() => undefined);
            await stack.workspace.removeStack(stack.name, { force: true }).catch(() => undefined);
        }
        await sshd?.stop();
        backend?.dispose();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    for (const plan of plans) {
        const moment = plan.trigger === "marker" ? `on entering ${plan.phase}` : `${plan.timerMs} ms after upload began`;
        it(`trial ${plan.index}: kill -9 the ${plan.victim === "cli" ? "pulumi CLI" : "provider"} ${moment} (${plan.op})`, async () => {
            const r = await runTrial(world, plan);
            results.push(r);
            if (r.error) {
                // A fresh stack and host for the next trial, so one failure does not spoil the rest.
                await stack.destroy().catch(() => stack.cancel().catch(() => undefined));
                await stack.workspace.removeStack(stack.name, { force: true }).catch(() => undefined);
                plant();
                stack = await newStack(backend, options(paths().v1));
                await world.useSource("v1");
                assert.fail(r.error);
            }
        });
    }

    it("every phase got its share of the kills", function () {
        if (results.length < plans.length) this.skip();
        const need = TRIALS >= 50 ? 8 : Math.floor(Math.min(TRIALS, 8) / PHASES.length);
        for (const phase of PHASES) {
            const n = results.filter((r) => r.diedIn === phase).length;
            assert.ok(n >= need, `${n} trials died in ${phase}, want at least ${need}`);
        }
    });
});
