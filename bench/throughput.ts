/**
 * Upload throughput over loopback SSH, side by side in one run: pulumi-delta's
 * apply engine (as a library, no Pulumi engine in the loop) against OpenSSH
 * `cat` (the SSH ceiling) and `rsync -a`, for one large file and for a tree of
 * many small files, each sent to an empty destination.
 *
 *   npm run bench:throughput [-- --quick] [-- --runs 3]
 *
 * Prints a table (median of the runs) and, last, one JSON line.
 */
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deploy } from "../sdk/apply";
import { buildManifest } from "../sdk/manifest";
import { connectSsh } from "../sdk/transport";
import { startSshd, Sshd } from "../test/helpers/sshd";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const runs = Number(args[args.indexOf("--runs") + 1]) || 3;
const LARGE_BYTES = (quick ? 32 : 256) * 1024 * 1024;
const SMALL_FILES = quick ? 2000 : 20000;

function makeLarge(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    const fd = fs.openSync(path.join(dir, "large.bin"), "w");
    const block = Buffer.alloc(4 * 1024 * 1024);
    for (let off = 0; off < LARGE_BYTES; off += block.length) {
        crypto.randomFillSync(block);
        fs.writeSync(fd, block);
    }
    fs.closeSync(fd);
}

/** Small files of 1-16 KiB (≈ 8 KiB on average), 50 per folder, folders two levels deep. */
function makeSmall(dir: string): void {
    for (let i = 0; i < SMALL_FILES; i++) {
        const sub = path.join(dir, `d${Math.floor(i / 1000)}`, `e${Math.floor(i / 50) % 20}`);
        fs.mkdirSync(sub, { recursive: true });
        fs.writeFileSync(path.join(sub, `file${i}.dat`), crypto.randomBytes(1024 + ((i * 7919) % (15 * 1024))));
    }
}

function treeBytes(dir: string): number {
    let n = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n += fs.statSync(path.join(e.parentPath, e.name)).size;
    return n;
}

function sshArgs(s: Sshd): string[] {
    return ["-p", String(s.port), "-i", s.privateKeyPath, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes"];
}

function time(fn: () => void | Promise<void>): Promise<number> {
    const t0 = process.hrtime.bigint();
    return Promise.resolve(fn()).then(() => Number(process.hrtime.bigint() - t0) / 1e9);
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "pd-bench-"));
    const sshd = await startSshd();
    try {
        console.error(`bench: generating data in ${work} (${LARGE_BYTES / 2 ** 20} MiB file, ${SMALL_FILES} small files)`);
        makeLarge(path.join(work, "large"));
        makeSmall(path.join(work, "small"));
        const datasets = [
            { name: `1 × ${LARGE_BYTES / 2 ** 20} MiB file`, src: path.join(work, "large"), bytes: LARGE_BYTES, files: 1 },
            { name: `${SMALL_FILES} small files`, src: path.join(work, "small"), bytes: treeBytes(path.join(work, "small")), files: SMALL_FILES },
        ];
        const rows: Record<string, string | number>[] = [];
        for (const ds of datasets) {
            const manifest = buildManifest(ds.src);
            const tools: Record<string, (dest: string) => void | Promise<void>> = {
                // The ceiling: one tar stream through OpenSSH into files (what `cat` does for one file).
                "ssh tar|tar": (dest) => {
                    const r = spawnSync("bash", ["-c", `tar -C ${ds.src} -cf - . | ssh ${sshArgs(sshd).join(" ")} root@127.0.0.1 'mkdir -p ${dest} && tar -C ${dest} -xf -'`]);
                    if (r.status !== 0) throw new Error(`tar over ssh failed: ${r.stderr}`);
                },
                "rsync -a": (dest) => {
                    execFileSync("rsync", ["-a", "-e", `ssh ${sshArgs(sshd).join(" ")}`, `${ds.src}/`, `root@127.0.0.1:${dest}/`]);
                },
                "pulumi-delta": async (dest) => {
                    const t = await connectSsh(sshd.connection());
                    try {
                        await deploy(t, { source: ds.src, destination: dest, stateDir: path.join(work, "state"), next: manifest });
                    } finally {
                        await t.close();
                    }
                },
            };
            const times: Record<string, number[]> = {};
            for (let r = 0; r < runs; r++) {
                for (const [tool, fn] of Object.entries(tools)) {
                    const dest = path.join(work, "dest", `${tool.replace(/\W+/g, "-")}-${r}`);
                    fs.mkdirSync(path.dirname(dest), { recursive: true });
                    (times[tool] ??= []).push(await time(() => fn(dest)));
                    fs.rmSync(path.join(work, "dest"), { recursive: true, force: true });
                    fs.rmSync(path.join(work, "state"), { recursive: true, force: true });
                }
            }
            for (const [tool, ts] of Object.entries(times)) {
                const s = median(ts);
                rows.push({ dataset: ds.name, tool, seconds: +s.toFixed(2), "MB/s": +(ds.bytes / 1e6 / s).toFixed(1), "files/s": +(ds.files / s).toFixed(0), "vs rsync": +(s / median(times["rsync -a"])).toFixed(2) });
            }
        }
        console.table(rows);
        console.log(JSON.stringify({ bench: "throughput", runs, quick, rows }));
    } finally {
        await sshd.stop();
        fs.rmSync(work, { recursive: true, force: true });
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
