import * as assert from "assert";
import * as path from "path";
import * as fs from "fs";
import { deploy } from "../../sdk/apply";
import { buildManifest } from "../../sdk/manifest";
import { connectSsh } from "../../sdk/transport";
import { startFaultRelay } from "../helpers/faultRelay";
import { Sshd, startSshd } from "../helpers/sshd";
import { tempDir } from "../helpers/tree";

/**
 * Regression (found by the fault trials): after the SSH connection dropped,
 * every later SFTP call hung forever (ssh2 drops a request on a closed
 * channel without calling back), so a deployment cut mid-way never finished
 * its undo or released the host's lock, and `pulumi up` waited forever.
 * Every call on a lost link — SFTP requests, and new channels (exec) — must
 * now fail at once, naming the lost link. Later trials found two more: a
 * link dropped mid-handshake left the dial waiting (ssh2 closes without an
 * error), and one dropped during a listing or a read left ssh2's readdir /
 * readFile waiting on the close of their handle.
 */
describe("SSH transport after the link drops (real sshd, a relay that cuts)", function () {
    let sshd: Sshd;
    before(async () => (sshd = await startSshd()));
    after(async () => sshd?.stop());

    it("a deployment cut at any of 80 points, from the handshake to the upload, settles within 20 s", async () => {
        const relay = await startFaultRelay(sshd.port);
        const work = tempDir("pd-it-link-deploy-");
        const src = path.join(work, "src");
        fs.mkdirSync(src);
        for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(src, `f${i}.txt`), `file ${i}\n`);
        const next = buildManifest(src, [], { cache: false });
        const hung: number[] = [];
        try {
            // Every 150 bytes from 200 to 12,200: the dial, the lock, recovery's listings, the ledger, the journal, the first uploads.
            for (let n = 200; n < 12200; n += 150) {
                relay.heal();
                relay.armCut(n, n % 300 === 0 ? "reset" : "close");
                const run = (async () => {
                    const t = await connectSsh({ ...sshd.connection(), port: relay.port });
                    try {
                        await deploy(t, { source: src, destination: path.join(work, "dest"), stateDir: path.join(work, "state"), next });
                    } finally {
                        await t.close();
                    }
                })();
                const settled = await Promise.race([run.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20000))]);
                if (!settled) hung.push(n);
                fs.rmSync(path.join(work, "state"), { recursive: true, force: true });
            }
        } finally {
            await relay.close();
            fs.rmSync(work, { recursive: true, force: true });
        }
        assert.deepStrictEqual(hung, [], `cut after these byte counts, the deployment was still waiting 20 s later: ${hung.join(", ")}`);
    });

    for (const how of ["reset", "close"] as const) {
        it(`fails every call at once once the connection is cut (${how}), naming the lost link`, async () => {
            const relay = await startFaultRelay(sshd.port);
            const dir = tempDir("pd-it-link-");
            const t = await connectSsh({ ...sshd.connection(), port: relay.port });
            try {
                await t.writeFile(path.join(dir, "before.txt"), Buffer.from("ok\n"), 0o644);
                let cut = false;
                relay.armCut(1, how, () => (cut = true));
                // In flight when the link drops: failed by ssh2 as the connection closes.
                const inFlight = t.writeFile(path.join(dir, "during.txt"), Buffer.from("x".repeat(100000)), 0o644);
                await assert.rejects(inFlight, /the SSH connection was lost|failed to/);
                assert.ok(cut, "the relay did not cut");
                // After it: each call fails within a second instead of waiting forever.
                const calls = [
                    () => t.stat(path.join(dir, "before.txt")),
                    () => t.unlink(path.join(dir, "before.txt")),
                    () => t.readFile(path.join(dir, "before.txt")),
                    () => t.mkdirp(path.join(dir, "new"), 0o755),
                    () => t.readdir(dir),
                    // A new channel on the closed connection: an exec, and a hash by exec (no hashing shell was opened).
                    () => t.exec(`ls ${dir}`),
                    () => t.sha256(path.join(dir, "before.txt")),
                ];
                for (const call of calls) {
                    const started = Date.now();
                    await assert.rejects(
                        Promise.race([call(), new Promise((_, reject) => setTimeout(() => reject(new Error("still waiting after 5 s")), 5000))]),
                        (err: Error) => {
                            assert.match(err.message, /the SSH connection was lost/);
                            assert.ok(err.message.includes(dir), `the error does not name the path: ${err.message}`);
                            return true;
                        },
                    );
                    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
                }
            } finally {
                await t.close();
                await relay.close();
            }
        });
    }
});
