/**
 * pulumi-delta against rsync, side by side in one run (`npm run bench`,
 * `-- --quick` for a small data set, `-- --runs N`, default 3).
 *
 * Data (generated): small files in nested folders plus 4 large random files.
 * Scenarios: S1 initial deploy; S2 no-change plan; S3 200 small files
 * changed + 10 added + 10 removed; S4 1 MiB overwritten in the middle of one
 * large file; S5 100 bytes inserted at the start of another.
 *
 * Both tools reach the same sshd through one byte-counting relay, so bytes on
 * the wire are counted the same way. rsync runs `rsync -a --delete` over ssh;
 * pulumi-delta runs its apply engine as a library (no Pulumi engine in the
 * loop), its plan being the manifest of the source against the last one.
 * Prints a table (medians) and, last, one JSON line with every figure.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deploy } from "../sdk/apply";
import { buildManifest, diffManifests, Manifest } from "../sdk/manifest";
import { connectSsh } from "../sdk/transport";
import { startSshd } from "../test/helpers/sshd";
import { flag, median, option, run, seconds, sshArgs, treeBytes, writeRandomFile, writeSmallFiles } from "./common";
import { startRelayProcess } from "./relay";

const quick = flag("--quick");
const runs = option("--runs", quick ? 1 : 3);
const SMALL = quick ? 2000 : 20000;
const LARGE = (quick ? 16 : 256) * 1024 * 1024;

type Scenario = "S1" | "S2" | "S3" | "S4" | "S5";
const SCENARIOS: Record<Scenario, string> = {
    S1: "initial deploy",
    S2: "no-change plan",
    S3: "200 changed + 10 added + 10 removed small files",
    S4: "1 MiB overwritten mid-file (large file 1)",
    S5: "100 B inserted at start (large file 2)",
};

/** Pseudo-random bytes from a seed, so both tools' sources receive identical edits. */
function seeded(seed: string, n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let off = 0, i = 0; off < n; off += 32, i++) crypto.createHash("sha256").update(`${seed}:${i}`).digest().copy(out, off);
    return out;
}

/** The source edits of S3-S5, applied in place; the same for both tools. */
function edit(src: string, s: Scenario, smallFiles: string[], run: number): void {
    if (s === "S3") {
        for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(src, "small", smallFiles[i * 7]), seeded(`S3-${run}-${i}`, 4096));
        for (let i = 0; i < 10; i++) fs.rmSync(path.join(src, "small", smallFiles[smallFiles.length - 1 - i]));
        fs.mkdirSync(path.join(src, "added"), { recursive: true });
        for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(src, "added", `r${run}-${i}.dat`), seeded(`S3-add-${run}-${i}`, 8192));
    } else if (s === "S4") {
        const fd = fs.openSync(path.join(src, "large", "large1.bin"), "r+");
        fs.writeSync(fd, seeded(`S4-${run}`, 1024 * 1024), 0, 1024 * 1024, Math.floor(LARGE / 2));
        fs.closeSync(fd);
    } else if (s === "S5") {
        const file = path.join(src, "large", "large2.bin");
        const rest = fs.readFileSync(file);
        fs.writeFileSync(file, Buffer.concat([seeded(`S5-${run}`, 100), rest]));
    }
}

interface Figure {
    seconds: number[];
    bytes: number[];
}

async function main(): Promise<void> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "pd-bench-"));
    const sshd = await startSshd();
    const relay = await startRelayProcess(sshd.port);
    const results: Record<string, Record<"rsync" | "pulumi-delta", Figure>> = {};
    try {
        const pristine = path.join(work, "pristine");
        console.error(`bench: generating ${SMALL} small files and 4 × ${LARGE / 2 ** 20} MiB in ${work}`);
        const smallFiles = writeSmallFiles(path.join(pristine, "small"), SMALL);
        for (let i = 1; i <= 4; i++) writeRandomFile(path.join(pristine, "large", `large${i}.bin`), LARGE);
        const dataBytes = treeBytes(pristine);
        const conn = { ...sshd.connection(), port: relay.port };
        for (let round = 0; round < runs; round++) {
            // Each tool gets its own copy of the source (rsync reads mtimes; edits must not race) and destination.
            const srcR = path.join(work, `src-rsync`);
            const srcP = path.join(work, `src-pd`);
            for (const d of [srcR, srcP]) {
                fs.rmSync(d, { recursive: true, force: true });
                execFileSync("cp", ["-a", pristine, d]);
            }
            const destR = path.join(work, "dest-rsync");
            const destP = path.join(work, "dest-pd");
            const stateDir = path.join(work, "state");
            for (const d of [destR, destP, stateDir]) fs.rmSync(d, { recursive: true, force: true });
            let previous: Manifest | undefined;
            let createdDirs: string[] = [];
            for (const s of Object.keys(SCENARIOS) as Scenario[]) {
                edit(srcR, s, smallFiles, round);
                edit(srcP, s, smallFiles, round);
                const figure = (results[s] ??= { rsync: { seconds: [], bytes: [] }, "pulumi-delta": { seconds: [], bytes: [] } });
                const timeRsync = async () => {
                    const before = await relay.total();
                    figure.rsync.seconds.push(
                        await seconds(() => run("rsync", ["-a", "--delete", "-e", `ssh ${sshArgs(sshd, relay.port).join(" ")}`, `${srcR}/`, `root@127.0.0.1:${destR}/`])),
                    );
                    figure.rsync.bytes.push((await relay.total()) - before);
                };
                const timePulumiDelta = async () => {
                    const before = await relay.total();
                    figure["pulumi-delta"].seconds.push(
                        await seconds(async () => {
                            const next = buildManifest(srcP);
                            if (s === "S2") {
                                // The plan needs no host: the last manifest against the source's.
                                diffManifests(previous, next);
                                return;
                            }
                            const t = await connectSsh(conn);
                            try {
                                const r = await deploy(t, { source: srcP, destination: destP, stateDir, previous, next, createdDirs });
                                createdDirs = r.createdDirs;
                            } finally {
                                await t.close();
                            }
                            previous = next;
                        }),
                    );
                    figure["pulumi-delta"].bytes.push((await relay.total()) - before);
                };
                // Neither tool pays for the other's (or the set-up's) writes still being flushed,
                // and each goes first in every other round.
                for (const time of round % 2 === 0 ? [timeRsync, timePulumiDelta] : [timePulumiDelta, timeRsync]) {
                    execFileSync("sync");
                    await time();
                }
            }
            const same = execFileSync("bash", ["-c", `diff -r ${destR} ${destP} && echo same`], { encoding: "utf8" }).trim();
            if (same !== "same") throw new Error("rsync's and pulumi-delta's destinations differ");
        }
        const rows = (Object.keys(SCENARIOS) as Scenario[]).map((s) => {
            const r = results[s].rsync;
            const p = results[s]["pulumi-delta"];
            return {
                scenario: `${s} ${SCENARIOS[s]}`,
                "rsync s": +median(r.seconds).toFixed(2),
                "pulumi-delta s": +median(p.seconds).toFixed(2),
                "time ratio": +(median(p.seconds) / median(r.seconds)).toFixed(2),
                "rsync bytes": median(r.bytes),
                "pulumi-delta bytes": median(p.bytes),
                "bytes ratio": +(median(p.bytes) / Math.max(1, median(r.bytes))).toFixed(2),
            };
        });
        console.table(rows);
        console.log(JSON.stringify({ bench: "rsync-compare", quick, runs, smallFiles: SMALL, largeFiles: 4, largeBytes: LARGE, dataBytes, rows, raw: results }));
    } finally {
        await relay.close();
        await sshd.stop();
        fs.rmSync(work, { recursive: true, force: true });
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
