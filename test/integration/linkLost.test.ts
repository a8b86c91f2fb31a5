import * as assert from "assert";
import * as path from "path";
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
 * now fail at once, naming the lost link.
 */
describe("SSH transport after the link drops (real sshd, a relay that cuts)", function () {
    let sshd: Sshd;
    before(async () => (sshd = await startSshd()));
    after(async () => sshd?.stop());

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
