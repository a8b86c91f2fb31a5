/**
 * What a large tree costs the Pulumi engine: no-change `pulumi preview` of a
 * program holding one DeltaDeployment of N files, against the same program
 * with a 1-file tree, interleaved in one run (median of --runs, default 3);
 * and the state's size per file (`pulumi stack export` bytes / N).
 *
 * Also: the plugin's start to its first port line (median of 5), and where
 * a large preview's time goes inside the plugin (Check, which walks the
 * tree against the hash cache and digests the manifest, and Diff).
 *
 *   npm run bench:preview [-- --quick]
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deltaDeployment } from "../sdk/plugin/resources/deltaDeployment";
import type { PlainObject } from "../sdk/plugin/server/codec";
import { newStack, pluginTarball, testBackend } from "../test/helpers/pulumi";
import { flag, median, option, seconds } from "./common";

/** Seconds from spawning the plugin to the port on its stdout. */
function pluginStart(dir: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const p = spawn(path.join(dir, "pulumi-resource-delta"), ["127.0.0.1:1"], { stdio: ["ignore", "pipe", "inherit"] });
        p.stdout.once("data", () => {
            resolve(Number(process.hrtime.bigint() - t0) / 1e9);
            p.kill();
        });
        p.once("error", reject);
    });
}

const ctx = { urn: "urn:pulumi:bench::bench::delta:index:DeltaDeployment::site", name: "site", project: "bench", stack: "bench", log: () => undefined };

const quick = flag("--quick");
const runs = option("--runs", 3);
const SIZES = quick ? [1, 2000, 10000] : [1, 20000, 100000];

function makeTree(dir: string, n: number): void {
    for (let i = 0; i < n; i++) {
        const sub = path.join(dir, `d${Math.floor(i / 1000)}`, `e${Math.floor(i / 50) % 20}`);
        if (i % 50 === 0) fs.mkdirSync(sub, { recursive: true });
        fs.writeFileSync(path.join(sub, `f${i}.txt`), `file ${i}\n`);
    }
}

async function main(): Promise<void> {
    const backend = testBackend();
    const work = fs.mkdtempSync(path.join(backend.dir, "trees-"));
    try {
        const stacks: { n: number; stack: Awaited<ReturnType<typeof newStack>>; stateBytes: number; times: number[] }[] = [];
        for (const n of SIZES) {
            const src = path.join(work, `src-${n}`);
            makeTree(src, n);
            const stack = await newStack(backend, { config: { source: src, destination: path.join(work, `dest-${n}`), stateDir: path.join(work, "state") } });
            console.error(`bench: deploying ${n} files`);
            await stack.up();
            const state = JSON.stringify((await stack.exportStack()).deployment);
            stacks.push({ n, stack, stateBytes: state.length, times: [] });
        }
        for (let r = 0; r < runs; r++) {
            for (const s of stacks) {
                s.times.push(
                    await seconds(async () => {
                        const p = await s.stack.preview();
                        if (p.changeSummary.update || p.changeSummary.create) throw new Error(`preview of ${s.n} files is not a no-change preview`);
                    }),
                );
            }
        }
        const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), "pd-bench-plugin-"));
        execFileSync("tar", ["-xzf", pluginTarball(), "-C", unpacked]);
        const starts: number[] = [];
        for (let i = 0; i < 5; i++) starts.push(await pluginStart(unpacked));
        fs.rmSync(unpacked, { recursive: true, force: true });
        // What the plugin's own Check and Diff cost, each in a fresh process as in a preview (the hash cache warm).
        const inPlugin: Record<number, { check: number; diff: number }> = {};
        for (const s of stacks) {
            const inputs = { source: path.join(work, `src-${s.n}`), destination: path.join(work, `dest-${s.n}`), stateDir: path.join(work, "state") };
            const oldsFile = path.join(work, `olds-${s.n}.json`);
            fs.writeFileSync(oldsFile, JSON.stringify((await s.stack.exportStack()).deployment.resources.find((x: { type: string }) => x.type === "delta:index:DeltaDeployment").outputs));
            const checks: number[] = [];
            const diffs: number[] = [];
            for (let r = 0; r < runs; r++) {
                const out = execFileSync(process.execPath, [__filename, "--lifecycle", JSON.stringify(inputs), oldsFile], { encoding: "utf8", env: { ...process.env, ...backend.env } });
                const t = JSON.parse(out) as { check: number; diff: number };
                checks.push(t.check);
                diffs.push(t.diff);
            }
            inPlugin[s.n] = { check: median(checks), diff: median(diffs) };
        }
        const base = median(stacks[0].times);
        const rows = stacks.map((s) => ({
            files: s.n,
            "preview s": +median(s.times).toFixed(2),
            "vs 1-file program": +(median(s.times) / base).toFixed(2),
            "state bytes": s.stateBytes,
            "state bytes/file": +(s.stateBytes / s.n).toFixed(1),
            "plugin Check s": +inPlugin[s.n].check.toFixed(3),
            "plugin Diff s": +inPlugin[s.n].diff.toFixed(3),
        }));
        console.log(`plugin start to first port: median ${median(starts).toFixed(3)} s of ${starts.map((t) => t.toFixed(3)).join(", ")}`);
        console.table(rows);
        console.log(JSON.stringify({ bench: "preview", quick, runs, rows, pluginStart: median(starts) }));
        for (const s of stacks) await s.stack.destroy();
    } finally {
        backend.dispose();
    }
}

/** `--lifecycle <inputs> <olds file>`: one Check and one Diff, timed, as the plugin runs them in a preview. */
async function lifecycle(inputs: PlainObject, oldsFile: string): Promise<void> {
    const olds = JSON.parse(fs.readFileSync(oldsFile, "utf8")) as PlainObject;
    let checked: PlainObject = {};
    const check = await seconds(async () => void (checked = (await deltaDeployment.check(ctx, olds, inputs)).inputs));
    const diff = await seconds(async () => void (await deltaDeployment.diff(ctx, "id", olds, checked, olds)));
    process.stdout.write(JSON.stringify({ check, diff }));
}

const at = process.argv.indexOf("--lifecycle");
(at >= 0 ? lifecycle(JSON.parse(process.argv[at + 1]) as PlainObject, process.argv[at + 2]) : main()).catch((err) => {
    console.error(err);
    process.exit(1);
});
