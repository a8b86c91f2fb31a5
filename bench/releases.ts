import * as fs from "fs";
import * as path from "path";
import { deployRelease } from "../sdk/apply/releases";
import { forEachLimit } from "../sdk/apply";
import { buildManifest } from "../sdk/manifest";
import { openTransport } from "../sdk/transport";
import { startSshd } from "../test/helpers/sshd";
import { tempDir } from "../test/helpers/tree";
import { treeBytes, writeSmallFiles } from "./common";

/**
 * strategy "releases" at 20,000 files over loopback SSH: how to hard-link a
 * release (SFTP hardlink@openssh.com many in flight, against `cp -al` and
 * `xargs cp -l --parents` over the exec channel), then what deployRelease
 * costs for the first release, a one-file change, and a rollback.
 *   npm run build:test && node build/bench/releases.js   (BENCH_FILES=20000)
 */
async function main(): Promise<void> {
    const n = Number(process.env.BENCH_FILES ?? 20000);
    const work = tempDir("pd-bench-rel-");
    const sshd = await startSshd();
    const t = await openTransport(sshd.connection());
    const ms = (since: number) => `${((Date.now() - since) / 1000).toFixed(2)} s`;
    try {
        const cur = path.join(work, "cur");
        const files = writeSmallFiles(cur, n);
        const dirs = [...new Set(files.map((f) => path.dirname(f)))].flatMap((d) => [path.dirname(d), d]);
        for (const inFlight of [64, 256]) {
            const dst = path.join(work, `sftp${inFlight}`);
            let s = Date.now();
            for (const d of [...new Set(dirs)].sort()) await t.mkdirp(path.join(dst, d));
            const mk = ms(s);
            s = Date.now();
            await forEachLimit(files, inFlight, (f) => t.link(path.join(cur, f), path.join(dst, f)));
            console.log(`SFTP hardlink@openssh.com, ${inFlight} in flight: ${ms(s)} for ${n} links (folders first: ${mk})`);
        }
        let s = Date.now();
        await t.exec(`cp -al ${cur} ${path.join(work, "cpal")}`);
        console.log(`cp -al of the whole tree (exec): ${ms(s)}`);
        s = Date.now();
        await t.exec(`mkdir -p ${path.join(work, "xargs")} && cd ${cur} && xargs -0 cp -l --parents -t ${path.join(work, "xargs")} --`, { stdin: files.join("\0") });
        console.log(`xargs -0 cp -l --parents, the list on stdin (exec): ${ms(s)}`);

        const dest = path.join(work, "srv", "site");
        const stateDir = path.join(work, "state");
        const v1 = buildManifest(cur, []);
        s = Date.now();
        const r1 = await deployRelease(t, { source: cur, destination: dest, stateDir, next: v1 });
        console.log(`deployRelease, first release: ${ms(s)}, ${r1.bytesSent} bytes sent (tree ${treeBytes(cur)})`);
        fs.appendFileSync(path.join(cur, files[0]), "changed");
        const v2 = buildManifest(cur, []);
        s = Date.now();
        const r2 = await deployRelease(t, { source: cur, destination: dest, stateDir, next: v2 });
        console.log(`deployRelease, one file changed (${n - 1} hard links): ${ms(s)}, ${r2.bytesSent} bytes sent`);
        s = Date.now();
        const r3 = await deployRelease(t, { source: cur, destination: dest, stateDir, next: v1 });
        console.log(`deployRelease, rollback to the first release: ${ms(s)}, ${r3.bytesSent} bytes sent, reused ${r3.reused}`);
    } finally {
        await t.close();
        await sshd.stop();
        fs.rmSync(work, { recursive: true, force: true });
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
