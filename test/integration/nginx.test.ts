import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { destinationKey } from "../../sdk/apply";
import type { DeltaRecord } from "../../sdk/apply";
import { installedProgram, outputValues, StackOptions, TestBackend, testBackend, withStack } from "../helpers/pulumi";
import { Nginx, startNginx } from "../helpers/nginx";
import { Sshd, startSshd } from "../helpers/sshd";
import { tempDir } from "../helpers/tree";
import { failure } from "../helpers/failure";

const ORIGINAL = "original\n";

function sha256(s: string | Buffer): string {
    return crypto.createHash("sha256").update(s).digest("hex");
}

function records(folder: string): DeltaRecord[] {
    const dir = path.join(folder, "records");
    if (!fs.existsSync(dir)) return [];
    return fs
        .readdirSync(dir)
        .sort()
        .map((n) => JSON.parse(fs.readFileSync(path.join(dir, n), "utf8")) as DeltaRecord);
}

for (const transport of ["ssh", "local"] as const) {
    describe(`DeltaDeployment hooks and records with a real nginx over ${transport} (real engine${transport === "ssh" ? ", real sshd" : ""})`, function () {
        let backend: TestBackend;
        let sshd: Sshd | undefined;
        let nginx: Nginx;
        let work: string;
        let original: Buffer;

        before(async () => {
            backend = testBackend();
            nginx = await startNginx(ORIGINAL);
            original = fs.readFileSync(nginx.appConf);
            if (transport === "ssh") sshd = await startSshd();
        });
        after(async () => {
            await sshd?.stop();
            await nginx?.stop();
            backend.dispose();
        });
        beforeEach(async () => {
            work = tempDir("pd-it-nginx-");
            // Every scenario starts from the original app.conf, served.
            fs.writeFileSync(nginx.appConf, original);
            execFileSync("sh", ["-c", nginx.reloadCommand]);
            assert.strictEqual(await nginx.get(ORIGINAL), ORIGINAL);
        });
        afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

        function options(extra: Record<string, string | number | undefined>): StackOptions {
            const conn: Pick<StackOptions, "config" | "secrets"> = sshd
                ? { config: { host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey }, secrets: { privateKey: sshd.privateKey } }
                : { config: {}, secrets: {} };
            return { config: { ...conn.config, source: path.join(work, "app.conf"), destination: nginx.appConf, stateDir: path.join(work, "state"), ...extra }, secrets: conn.secrets };
        }

        function writeSource(body: string): string {
            const text = nginx.appConfFor(body);
            fs.writeFileSync(path.join(work, "app.conf"), text);
            return text;
        }

        it("reloads nginx on a new app.conf, refuses a broken one with nginx's own error (old one back, still served), destroy restores the original; records match and history prints them", async function () {
            const folder = path.join(work, "state", destinationKey(nginx.appConf));
            const v1 = writeSource("v1\n");
            await withStack(backend, options({ validate: nginx.testCommand, onChange: nginx.reloadCommand }), async (stack: Stack) => {
                const up1 = await stack.up();
                assert.strictEqual(await nginx.get("v1\n"), "v1\n", "onChange reloaded nginx");
                const r1 = outputValues(up1.outputs).lastRecord as DeltaRecord;
                assert.deepStrictEqual(
                    { project: r1.project, stack: r1.stack, resource: r1.resource, operation: r1.operation, destination: r1.destination, changes: r1.changes, rollback: r1.rollback },
                    {
                        project: "pulumi-delta-it",
                        stack: stack.name,
                        resource: "site",
                        operation: "deploy",
                        destination: nginx.appConf,
                        changes: [{ file: nginx.appConf, action: "update", sha256: sha256(v1), bytes: Buffer.byteLength(v1) }],
                        rollback: [{ file: nginx.appConf, action: "restore", backup: path.join(folder, "originals", "file") }],
                    },
                );
                assert.deepStrictEqual(records(folder), [r1], "lastRecord is the record on the host");

                // A broken app.conf: nginx -t refuses it, the previous app.conf is back byte for byte and still served.
                const broken = nginx.appConfFor("broken\n").replace(/}\n$/, "");
                fs.writeFileSync(path.join(work, "app.conf"), broken);
                const inodeBefore = fs.statSync(nginx.appConf).ino;
                const msg = await failure(stack.up());
                assert.match(msg, /validate hook failed on .*: `\/usr\/sbin\/nginx -t -q .*` exited with code 1; output:/);
                assert.match(msg, /nginx: \[emerg\] unexpected end of file, expecting "}" in .*app\.conf:\d+/, "nginx's own error text");
                assert.match(msg, /the previous files were restored/);
                assert.strictEqual(fs.readFileSync(nginx.appConf, "utf8"), v1);
                assert.strictEqual(fs.statSync(nginx.appConf).ino, inodeBefore, "the very same file is back");
                assert.strictEqual(await nginx.get(), "v1\n");
                assert.strictEqual(records(folder).length, 1, "a failed deployment leaves no record");

                const v2 = writeSource("v2\n");
                const up2 = await stack.up();
                assert.strictEqual(await nginx.get("v2\n"), "v2\n");
                const r2 = outputValues(up2.outputs).lastRecord as DeltaRecord;
                assert.deepStrictEqual(r2.changes, [{ file: nginx.appConf, action: "update", sha256: sha256(v2), bytes: Buffer.byteLength(v2) }]);
                assert.deepStrictEqual(r2.rollback, [{ file: nginx.appConf, action: "restore", backup: null }], "the previous deployed version is not kept after commit");

                await stack.destroy();
                assert.deepStrictEqual(fs.readFileSync(nginx.appConf), original, "the original app.conf is back byte for byte");
                assert.strictEqual(await nginx.get(ORIGINAL), ORIGINAL, "onChange reloaded nginx on destroy");
                const all = records(folder);
                assert.deepStrictEqual(all.map((r) => r.operation), ["deploy", "deploy", "destroy"]);
                assert.deepStrictEqual(all.slice(0, 2), [r1, r2]);
                assert.deepStrictEqual(all[2].changes, [{ file: nginx.appConf, action: "update", sha256: sha256(original), bytes: original.length }]);
                assert.deepStrictEqual(fs.readdirSync(folder), ["records"], "only the records survive destroy");

                // pulumi-delta history, from the installed package's bin, over the same transport.
                const bin = path.join(await installedProgram(), "node_modules", ".bin", "pulumi-delta");
                const remote = sshd ? ["-p", String(sshd.port), "-i", sshd.privateKeyPath, "-o", "StrictHostKeyChecking=no", `${sshd.user}@${sshd.host}`] : [];
                const list = execFileSync(bin, ["history", nginx.appConf, "--state-dir", path.join(work, "state"), ...remote], { encoding: "utf8" });
                const lines = list.trim().split("\n");
                assert.match(lines[0], /^ID\s+TIME\s+OPERATION\s+CHANGES\s+PROJECT\/STACK\/RESOURCE$/);
                assert.deepStrictEqual(
                    lines.slice(1).map((l) => l.split(/\s{2,}/)),
                    all.map((r) => [r.id, r.time, r.operation, "0 created, 1 updated, 0 deleted", `pulumi-delta-it/${stack.name}/site`]),
                );
                const shown = execFileSync(bin, ["history", nginx.appConf, "--state-dir", path.join(work, "state"), "--show", all[2].id, ...remote], { encoding: "utf8" });
                assert.deepStrictEqual(JSON.parse(shown), all[2]);
            });
        });

        it("an onChange that fails restores the previous files, runs again, and the error shows both outputs", async () => {
            writeSource("v1\n");
            const counter = path.join(work, "onchange.count");
            const onChange = `echo ran >> ${counter}; echo "reload attempt $(wc -l < ${counter})"; echo "refused" >&2; exit 3`;
            await withStack(backend, options({ onChange }), async (stack) => {
                const msg = await failure(stack.up());
                assert.match(msg, /onChange hook failed on .*: `echo ran >> .*` exited with code 3; output:\s+reload attempt 1\s+refused/);
                assert.match(msg, /the previous files were restored and onChange ran again: it failed too, exited with code 3; output:\s+reload attempt 2\s+refused/);
                assert.strictEqual(fs.readFileSync(counter, "utf8"), "ran\nran\n", "onChange ran twice");
                assert.deepStrictEqual(fs.readFileSync(nginx.appConf), original);
                assert.strictEqual(await nginx.get(), ORIGINAL);
            });
        });

        it("a hook that runs past hookTimeout is killed and counts as failed", async () => {
            writeSource("v1\n");
            await withStack(backend, options({ validate: "sleep 31.5", hookTimeout: 1 }), async (stack) => {
                const msg = await failure(stack.up());
                assert.match(msg, /validate hook failed on .*: `sleep 31\.5` timed out after 1s \(killed\)/);
                let left = "";
                try {
                    left = execFileSync("pgrep", ["-f", "sleep 31.5"], { encoding: "utf8" });
                } catch {
                    // pgrep exits 1 when nothing matches.
                }
                assert.strictEqual(left, "", "the hook's process is gone");
                assert.deepStrictEqual(fs.readFileSync(nginx.appConf), original);
            });
        });

        it("validate with {staged} refuses a bad file before anything moves, then accepts a good one", async () => {
            fs.writeFileSync(path.join(work, "app.conf"), nginx.appConfFor("bad\n").replace("listen", "lissten"));
            const before = fs.statSync(nginx.appConf);
            await withStack(backend, options({ validate: nginx.stagedTestCommand, onChange: nginx.reloadCommand }), async (stack) => {
                const msg = await failure(stack.up());
                assert.match(msg, /validate hook failed on .*: `printf .*include ''\/.*\/staging-[^/]+\/0''.*` exited with code 1/);
                assert.match(msg, /nginx: \[emerg\] unknown directive "lissten" in .*staging-[^/]+\/0:2/);
                assert.match(msg, /nothing was moved into place/);
                const after = fs.statSync(nginx.appConf);
                assert.strictEqual(after.ino, before.ino, "the destination is the same inode");
                assert.strictEqual(after.mtimeMs, before.mtimeMs);
                assert.deepStrictEqual(fs.readFileSync(nginx.appConf), original);
                assert.strictEqual(await nginx.get(), ORIGINAL);

                writeSource("staged ok\n");
                await stack.up();
                assert.strictEqual(await nginx.get("staged ok\n"), "staged ok\n");
                await stack.destroy();
                assert.deepStrictEqual(fs.readFileSync(nginx.appConf), original);
                assert.strictEqual(await nginx.get(ORIGINAL), ORIGINAL);
            });
        });
    });
}
