import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { newStack, setConfig, StackOptions, TestBackend, testBackend } from "../helpers/pulumi";
import { Nginx, startNginx } from "../helpers/nginx";
import { freePort, Sshd, startSshd } from "../helpers/sshd";
import { resetTree, tempDir, TreeSpec } from "../helpers/tree";

/** Deployments while nginx serves the destination; PD_RELEASES_NGINX_DEPLOYMENTS lowers it for a short CI run. */
const DEPLOYMENTS = Number(process.env.PD_RELEASES_NGINX_DEPLOYMENTS ?? 20);

function get(port: number, p: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: "127.0.0.1", port, path: p, agent: false }, (res) => {
            const parts: Buffer[] = [];
            res.on("data", (d: Buffer) => parts.push(d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8") }));
        });
        req.on("error", reject);
        req.setTimeout(2000, () => req.destroy(new Error("timed out")));
    });
}

/** Every file names the version, so a tree mixing two versions shows in any pair. */
function tree(version: string): TreeSpec {
    const spec: TreeSpec = { "a.txt": version, "b.txt": version };
    for (let i = 0; i < 200; i++) spec[`assets/d${i % 8}/f${i}.txt`] = `${version} asset ${i}\n`;
    return spec;
}

describe("DeltaDeployment strategy \"releases\" under a real nginx (real engine, real sshd)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let nginx: Nginx;
    let work: string;

    before(async () => {
        backend = testBackend();
        sshd = await startSshd();
        nginx = await startNginx();
        work = tempDir("pd-it-reln-");
        // nginx's workers run as nobody: the path down to the destination must be theirs to walk, as on a real web host.
        fs.chmodSync(work, 0o755);
    });
    after(async () => {
        await nginx?.stop();
        await sshd?.stop();
        backend?.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });

    it(`a poller reading a.txt, b.txt, a.txt never sees the two disagree, nor destination missing, during ${DEPLOYMENTS} deployments (new releases and rollbacks)`, async () => {
        const dest = path.join(work, "srv", "site");
        const src = path.join(work, "src");
        const port = await freePort();
        fs.writeFileSync(path.join(nginx.confd, "site.conf"), `server {\n    listen 127.0.0.1:${port};\n    default_type text/plain;\n    root ${dest};\n}\n`);
        execFileSync("sh", ["-c", nginx.reloadCommand]);
        const o = (version: string): StackOptions => ({
            config: { host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey, source: src, destination: dest, stateDir: path.join(work, "state"), strategy: "releases", keepReleases: 3 },
            secrets: { privateKey: sshd.privateKey },
        });
        resetTree(src, tree("v0"));
        const stack = await newStack(backend, o("v0"));
        try {
            await stack.up();
            for (const deadline = Date.now() + 5000; (await get(port, "/a.txt").catch(() => ({ body: "" }))).body !== "v0"; ) {
                assert.ok(Date.now() < deadline, "nginx serves the first release");
                await new Promise((r) => setTimeout(r, 100));
            }

            let polling = true;
            let checks = 0;
            const seen = new Set<string>();
            const problems: string[] = [];
            const poller = (async () => {
                while (polling) {
                    const [a1, b, a2] = [await get(port, "/a.txt"), await get(port, "/b.txt"), await get(port, "/a.txt")];
                    for (const r of [a1, b, a2]) if (r.status !== 200) problems.push(`HTTP ${r.status} during the deployments`);
                    seen.add(a1.body);
                    // a.txt the same before and after b.txt: no flip in between, so b.txt is from the same release.
                    if (a1.body === a2.body) {
                        checks++;
                        if (b.body !== a1.body) problems.push(`a.txt ${a1.body} but b.txt ${b.body}`);
                    }
                    // A breath between rounds, so the poller does not starve the deployments of the 2 cores.
                    await new Promise((r) => setTimeout(r, 2));
                }
            })();
            const versions: string[] = [];
            for (let i = 1; i <= DEPLOYMENTS; i++) {
                // Every third deployment goes back to the version before the last one: a rollback to a kept release.
                const version = i % 3 === 0 ? versions[versions.length - 2] : `v${i}`;
                versions.push(version);
                resetTree(src, tree(version));
                await setConfig(stack, o(version));
                await stack.up();
            }
            polling = false;
            await poller;
            assert.deepStrictEqual(problems.slice(0, 10), [], `${problems.length} inconsistent reads`);
            assert.ok(checks > DEPLOYMENTS, `the poller made ${checks} checks`);
            assert.ok(seen.size >= Math.min(DEPLOYMENTS, 5), `the poller saw the versions change (${[...seen].join(" ")})`);
            assert.strictEqual((await get(port, "/b.txt")).body, versions[versions.length - 1]);
            console.log(`      ${DEPLOYMENTS} deployments, ${checks} consistent a/b/a checks, ${seen.size} versions seen`);
            await stack.destroy();
        } finally {
            await stack.workspace.removeStack(stack.name, { force: true }).catch(() => undefined);
        }
    });
});
