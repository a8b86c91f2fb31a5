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
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deploy } from "../sdk/apply";
import { buildManifest } from "../sdk/manifest";
import { connectSsh } from "../sdk/transport";
import { startSshd } from "../test/helpers/sshd";
import { flag, median, option, seconds, sshArgs, treeBytes, writeRandomFile, writeSmallFiles } from "./common";

const quick = flag("--quick");
const runs = option("--runs", 3);
const LARGE_BYTES = (quick ? 32 : 256) * 1024 * 1024;
const SMALL_FILES = quick ? 2000 : 20000;

async function main(): Promise<void> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "pd-bench-"));
    const sshd = await startSshd();
    try {
        console.error(`bench: generating data in ${work} (${LARGE_BYTES / 2 ** 20} MiB file, ${SMALL_FILES} small files)`);
        writeRandomFile(path.join(work, "large", "large.bin"), LARGE_BYTES);
        writeSmallFiles(path.join(work, "small"), SMALL_FILES);
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
                    (times[tool] ??= []).push(await seconds(() => fn(dest)));
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
