import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { destinationKey } from "../../sdk/apply";
import { FaultRelay, startFaultRelay } from "../helpers/faultRelay";
import { Calibration, FaultResult, FaultWorld, formatFaultMatrix, planFaultTrials, profileRun, runFaultTrial, Strategy } from "../helpers/faultTrial";
import { hostSnapshot, HostSnapshot } from "../helpers/hostTree";
import { plantTrialHost, writeTrialV1, writeTrialV2 } from "../helpers/trialHost";
import { treeDigest } from "../helpers/treeReader";
import { seeded } from "../helpers/trialMatrix";
import { newStack, setConfig, StackOptions, TestBackend, testBackend } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { tempDir } from "../helpers/tree";

/**
 * Network-fault trials: `pulumi up` runs (creates and updates) whose SSH
 * connection a relay cuts after N bytes — N random within a byte range aimed
 * at each part of a deployment (dial and lock, upload, journal, commit,
 * bookkeeping), measured on a healthy run first. Each cut up must fail with
 * an error; no file the host had before may be lost; the next `pulumi up`,
 * through a healthy connection and with no step on the host, must leave the
 * host equal to the source byte for byte; destroy must give back the
 * pre-deployment tree. With strategy "releases" a reader on its own thread
 * reads `destination` all the while and must only ever find a complete
 * known tree. `PULUMI_DELTA_FAULT_TRIALS` (default 4) sets how many per
 * strategy, `PULUMI_DELTA_FAULT_STRATEGIES` which (default both),
 * `PULUMI_DELTA_FAULT_SEED` the draw; `scripts/fault-trials.sh` runs 50 of
 * each and prints the matrices.
 */

const TRIALS = Number(process.env.PULUMI_DELTA_FAULT_TRIALS ?? 4);
const SEED = Number(process.env.PULUMI_DELTA_FAULT_SEED ?? Date.now() % 2 ** 31);
const STRATEGIES = (process.env.PULUMI_DELTA_FAULT_STRATEGIES ?? "inPlace,releases").split(",").map((s) => s.trim()) as Strategy[];
const SMALL_FILES = 200;

for (const STRATEGY of STRATEGIES) describe(`fault trials: ${TRIALS} pulumi up runs whose SSH connection is cut after N bytes, each recovered by the next up (${STRATEGY}; real engine, real sshd)`, function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let relay: FaultRelay;
    let work: string;
    let stack: Stack;
    let world: FaultWorld;
    let calibration: Calibration;
    const results: FaultResult[] = [];
    const random = seeded(SEED);
    const plans = planFaultTrials(TRIALS, random, STRATEGY);

    const paths = () => {
        const host = path.join(work, "host");
        return { host, destination: path.join(host, "srv", "app"), stateDir: path.join(work, "state"), v1: path.join(work, "src-v1"), v2: path.join(work, "src-v2"), markers: path.join(work, "markers") };
    };

    function options(source: string): StackOptions {
        const p = paths();
        return {
            fixture: "single",
            env: { PULUMI_DELTA_PHASE_MARKER_DIR: p.markers },
            config: { host: sshd.host, port: relay.port, user: sshd.user, hostKey: sshd.hostKey, stateDir: p.stateDir, source, destination: p.destination, ...(STRATEGY === "inPlace" ? {} : { strategy: STRATEGY }) },
            secrets: { privateKey: sshd.privateKey },
        };
    }

    const plant = () => plantTrialHost(paths().host, paths().stateDir);

    before(async function () {
        backend = testBackend();
        sshd = await startSshd();
        relay = await startFaultRelay(sshd.port);
        work = tempDir("pd-it-fault-");
        const p = paths();
        writeTrialV1(p.v1, seeded(SEED ^ 0x5eed), SMALL_FILES, 1);
        writeTrialV2(p.v1, p.v2, 1);
        fs.mkdirSync(p.markers);
        plant();
        const pristine: HostSnapshot = hostSnapshot(p.host);
        const trees = { original: treeDigest(p.destination).digest, v1: treeDigest(p.v1).digest, v2: treeDigest(p.v2).digest };
        stack = await newStack(backend, options(p.v1));
        let current = p.v1;
        world = {
            get stack() {
                return stack;
            },
            relay,
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
            markers: p.markers,
            strategy: STRATEGY,
            destination: p.destination,
            trees,
        };
        // A healthy create and update first: how many bytes each takes, and where each phase begins.
        const create = await profileRun(world, () => stack.up());
        await world.useSource("v2");
        const update = await profileRun(world, () => stack.up());
        await stack.destroy();
        await world.useSource("v1");
        calibration = { create, update };
        console.log(`    calibration (healthy runs through the relay): ${JSON.stringify(calibration)}`);
    });

    after(async () => {
        if (results.length) {
            const text = `fault trials (strategy ${STRATEGY}, seed ${SEED}, ${SMALL_FILES} small files + 1 × 8 MiB; healthy create ${calibration.create.total} bytes, update ${calibration.update.total} bytes):\n${formatFaultMatrix(results, work)}\n`;
            console.log(`\n${text}`);
            if (process.env.PULUMI_DELTA_FAULT_MATRIX) fs.writeFileSync(process.env.PULUMI_DELTA_FAULT_MATRIX.replace("{strategy}", STRATEGY), text);
        }
        if (stack) {
            relay?.heal();
            await stack.destroy().catch(() => undefined);
            await stack.workspace.removeStack(stack.name, { force: true }).catch(() => undefined);
        }
        await relay?.close();
        await sshd?.stop();
        backend?.dispose();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    for (const plan of plans) {
        it(`trial ${plan.index}: cut the connection (${plan.how}) in a ${plan.op}, aimed at ${plan.aim}`, async () => {
            const r = await runFaultTrial(world, plan, calibration);
            results.push(r);
            console.log(`      N = ${r.cutAfter} bytes, cut in ${r.cutIn}; shown: ${r.shown || "-"}; resent ${r.bytesResent ?? "-"} bytes`);
            if (r.error) {
                // A fresh stack and host for the next trial, so one failure does not spoil the rest.
                relay.heal();
                await stack.destroy().catch(() => stack.cancel().catch(() => undefined));
                await stack.workspace.removeStack(stack.name, { force: true }).catch(() => undefined);
                plant();
                stack = await newStack(backend, options(paths().v1));
                await world.useSource("v1");
                assert.fail(r.error);
            }
        });
    }
});

