/**
 * What a large tree costs the Pulumi engine: no-change `pulumi preview` of a
 * program holding one DeltaDeployment of N files, against the same program
 * with a 1-file tree, interleaved in one run (median of --runs, default 3);
 * and the state's size per file (`pulumi stack export` bytes / N).
 *
 *   npm run bench:preview [-- --quick]
 */
import * as fs from "fs";
import * as path from "path";
import { newStack, testBackend } from "../test/helpers/pulumi";
import { flag, median, option, seconds } from "./common";

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
        const base = median(stacks[0].times);
        const rows = stacks.map((s) => ({
            files: s.n,
            "preview s": +median(s.times).toFixed(2),
            "vs 1-file program": +(median(s.times) / base).toFixed(2),
            "state bytes": s.stateBytes,
            "state bytes/file": +(s.stateBytes / s.n).toFixed(1),
        }));
        console.table(rows);
        console.log(JSON.stringify({ bench: "preview", quick, runs, rows }));
        for (const s of stacks) await s.stack.destroy();
    } finally {
        backend.dispose();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
