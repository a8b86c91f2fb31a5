import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { destinationKey } from "../../sdk/apply";
import { fingerprint } from "../../sdk/transport/hostKeys";
import { collector, newStack, outputValues, runCli, StackOptions, TestBackend, testBackend, withStack } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { contentOf, filesOf, resetTree, snapshot, tempDir, TreeSpec, writeTree } from "../helpers/tree";

const V1: TreeSpec = {
    "index.html": "<h1>v1</h1>\n",
    "css/site.css": "body { color: black }\n",
    "js/app.js": "console.log('v1')\n",
    "img/logo.svg": "<svg/>\n",
    "docs/deep/nested/readme.txt": "nested v1\n",
};

/** v2: one changed, one added, one removed. */
const V2: TreeSpec = {
    "index.html": "<h1>v2</h1>\n",
    "css/site.css": "body { color: black }\n",
    "js/app.js": "console.log('v1')\n",
    "img/logo.svg": "<svg/>\n",
    "fonts/new.woff": "new font\n",
};

function bytesOf(spec: TreeSpec, paths: string[]): number {
    return paths.reduce((n, p) => n + Buffer.byteLength(spec[p] as string), 0);
}

/** Per-file markers in `pulumi preview --diff` output: lines like `~ path: "0644 sha256:…" => …`. */
function markedPaths(text: string): string[] {
    const out: string[] = [];
    for (const m of text.matchAll(/^\s+([~+-]) ([^\s:]+)\s*: "\d{4} sha256:/gm)) out.push(`${m[1]} ${m[2]}`);
    return out.sort();
}

/** The lines the provider's diff printed under Diagnostics (the delta list). */
function diagnosticPaths(text: string): string[] {
    const diag = text.slice(text.indexOf("Diagnostics:"));
    return [...diag.matchAll(/^\s+([~+-]) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
}

for (const transport of ["ssh", "local"] as const) {
    describe(`DeltaDeployment over ${transport} (real engine${transport === "ssh" ? ", real sshd" : ""})`, function () {
        let backend: TestBackend;
        let sshd: Sshd | undefined;
        let work: string;

        before(async () => {
            backend = testBackend();
            if (transport === "ssh") sshd = await startSshd();
        });
        after(async () => {
            await sshd?.stop();
            backend.dispose();
        });
        beforeEach(() => {
            work = tempDir("pd-it-");
        });
        afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

        function options(extra: Record<string, string | number | boolean | object | undefined>): StackOptions {
            const conn: Pick<StackOptions, "config" | "secrets"> = sshd
                ? { config: { host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey }, secrets: { privateKey: sshd.privateKey } }
                : { config: {}, secrets: {} };
            return { config: { ...conn.config, ...extra }, secrets: conn.secrets };
        }

        it("deploys a tree, shows exact deltas, rolls back by redeploying, and destroy restores the host exactly", async () => {
            const src = path.join(work, "src");
            const host = path.join(work, "host");
            const dest = path.join(host, "www", "site");
            const stateDir = path.join(work, "state");
            resetTree(src, V1);
            // The host already has a file at one of the paths, and one the source lacks.
            writeTree(dest, { "index.html": "ORIGINAL index\n", "keep.txt": "not ours\n" });
            fs.writeFileSync(path.join(host, "www", "beside.txt"), "neighbour\n");
            const before = snapshot(host);
            const keepBefore = snapshot(dest)["keep.txt"];

            await withStack(backend, options({ source: src, destination: dest, stateDir }), async (stack) => {
                // First up: tree equals source plus what was already there; nothing else inside or beside.
                const up1 = await stack.up();
                assert.deepStrictEqual(filesOf(dest), { ...filesOf(src), "keep.txt": before["www/site/keep.txt"].mode + " " + before["www/site/keep.txt"].sha256 });
                assert.deepStrictEqual(fs.readdirSync(path.join(host, "www")).sort(), ["beside.txt", "site"]);
                assert.deepStrictEqual(snapshot(dest)["keep.txt"], keepBefore);
                assert.deepStrictEqual(outputValues(up1.outputs).lastDelta, { added: 5, changed: 0, removed: 0, bytesSent: bytesOf(V1, Object.keys(V1)) });
                const folder = path.join(stateDir, destinationKey(dest));
                assert.deepStrictEqual(Object.keys(snapshot(folder)).filter((k) => !k.startsWith("records")).sort(), ["ledger.json", "originals", "originals/index.html"]);
                assert.strictEqual(fs.readFileSync(path.join(folder, "originals", "index.html"), "utf8"), "ORIGINAL index\n");

                // A no-change preview reports no changes.
                const same = await stack.preview();
                // The stack and the one DeltaDeployment resource.
                assert.deepStrictEqual(same.changeSummary, { same: 2 });

                // One changed, one added, one removed.
                resetTree(src, V2);
                const plain = collector();
                await stack.preview({ onOutput: plain.onOutput });
                assert.match(plain.text(), /site: 1 added, 1 changed, 1 removed, 3 unchanged → /);
                assert.deepStrictEqual(diagnosticPaths(plain.text()), ["+ fonts/new.woff", "- docs/deep/nested/readme.txt", "~ index.html"]);
                const detailed = collector();
                await stack.preview({ diff: true, onOutput: detailed.onOutput });
                assert.deepStrictEqual(markedPaths(detailed.text()), ["+ fonts/new.woff", "- docs/deep/nested/readme.txt", "~ index.html"]);
                // --json carries the old and the new map.
                const json = JSON.parse(await runCli(backend, stack, ["preview", "--json"]));
                const step = json.steps.find((st: { op: string; urn: string }) => st.op === "update" && st.urn.includes("delta:index:DeltaDeployment"));
                assert.deepStrictEqual(Object.keys(step.oldState.inputs.files).sort(), Object.keys(V1).sort());
                assert.deepStrictEqual(Object.keys(step.newState.inputs.files).sort(), Object.keys(V2).sort());
                const up2 = await stack.up();
                assert.deepStrictEqual(outputValues(up2.outputs).lastDelta, { added: 1, changed: 1, removed: 1, bytesSent: bytesOf(V2, ["index.html", "fonts/new.woff"]) });
                assert.deepStrictEqual(filesOf(dest), { ...filesOf(src), "keep.txt": `${keepBefore.mode} ${keepBefore.sha256}` });
                assert.ok(!fs.existsSync(path.join(dest, "docs")), "the emptied folders the deployment created are gone");
                assert.deepStrictEqual(snapshot(dest)["keep.txt"], keepBefore);

                // chmod +x alone is a change, shown and applied.
                fs.chmodSync(path.join(src, "js", "app.js"), 0o755);
                const chmod = collector();
                await stack.preview({ diff: true, onOutput: chmod.onOutput });
                assert.deepStrictEqual(markedPaths(chmod.text()), ["~ js/app.js"]);
                assert.match(chmod.text(), /js\/app\.js\s*: "0644 sha256:[0-9a-f]{64}" => "0755 sha256:/);
                const up3 = await stack.up();
                assert.deepStrictEqual(outputValues(up3.outputs).lastDelta, { added: 0, changed: 1, removed: 0, bytesSent: bytesOf(V2, ["js/app.js"]) });
                assert.strictEqual(fs.statSync(path.join(dest, "js", "app.js")).mode & 0o777, 0o755);

                // Rollback: redeploy v1; only the files that differ travel.
                resetTree(src, V1);
                const up4 = await stack.up();
                assert.deepStrictEqual(outputValues(up4.outputs).lastDelta, {
                    added: 1,
                    changed: 2,
                    removed: 1,
                    bytesSent: bytesOf(V1, ["index.html", "js/app.js", "docs/deep/nested/readme.txt"]),
                });
                assert.deepStrictEqual(filesOf(dest), { ...filesOf(src), "keep.txt": `${keepBefore.mode} ${keepBefore.sha256}` });
                assert.deepStrictEqual(Object.keys(snapshot(folder)).filter((k) => !k.startsWith("records")).sort(), ["ledger.json", "originals", "originals/index.html"], "no backup or staging left after updates");

                // Destroy: the host exactly as before (the original restored, created files and folders gone, keep.txt untouched).
                await stack.destroy();
                assert.deepStrictEqual(contentOf(snapshot(host)), contentOf(before));
                assert.deepStrictEqual(snapshot(dest)["keep.txt"], keepBefore);
                assert.deepStrictEqual(fs.readdirSync(folder), ["records"], "no originals, backups or staging left under stateDir; the records stay");
            });
        });

        it("deploys a single file over an existing one beside others, and destroy restores it byte for byte", async () => {
            const conf = path.join(work, "app.conf");
            fs.writeFileSync(conf, "server { listen 8080; }\n");
            const confd = path.join(work, "nginx", "conf.d");
            writeTree(confd, { "app.conf": "server { listen 80; } # original\n", "other.conf": "# other\n" });
            const before = snapshot(confd);
            await withStack(backend, options({ source: conf, destination: path.join(confd, "app.conf"), stateDir: path.join(work, "state") }), async (stack) => {
                await stack.up();
                assert.deepStrictEqual(fs.readdirSync(confd).sort(), ["app.conf", "other.conf"], "nothing of ours in conf.d");
                assert.strictEqual(fs.readFileSync(path.join(confd, "app.conf"), "utf8"), "server { listen 8080; }\n");
                assert.deepStrictEqual(snapshot(confd)["other.conf"], before["other.conf"]);
                fs.writeFileSync(conf, "server { listen 8081; }\n");
                const up2 = await stack.up();
                assert.deepStrictEqual(outputValues(up2.outputs).lastDelta, { added: 0, changed: 1, removed: 0, bytesSent: 24 });
                await stack.destroy();
                assert.deepStrictEqual(contentOf(snapshot(confd)), contentOf(before));
                assert.deepStrictEqual(snapshot(confd)["other.conf"], before["other.conf"]);
            });
        });

        it("fails the preview naming source when it is missing", async () => {
            await withStack(backend, options({ source: path.join(work, "nope"), destination: path.join(work, "dest") }), async (stack) => {
                await assert.rejects(stack.preview(), (err: Error) => {
                    assert.match(err.message, /delta:index:DeltaDeployment resource 'site': property source value \{.*\/nope\} has a problem: source ".*\/nope" does not exist or cannot be read \(ENOENT\)/);
                    return true;
                });
            });
        });

        it("refuses bad inputs in check, naming each input and the fix, before touching the host", async () => {
            fs.mkdirSync(path.join(work, "src"));
            fs.writeFileSync(path.join(work, "src", "a.txt"), "a");
            await withStack(backend, options({ source: path.join(work, "src"), destination: "relative/dir", onDestroy: "delete" }), async (stack) => {
                await assert.rejects(stack.preview(), (err: Error) => {
                    assert.match(err.message, /destination must be an absolute path on the host such as "\/srv\/www\/site", got "relative\/dir"/);
                    assert.match(err.message, /onDestroy must be one of "restore", "remove", "retain", got "delete"/);
                    return true;
                });
            });
        });

        it("onDestroy remove and retain do as named", async () => {
            const src = path.join(work, "src");
            resetTree(src, { "a.txt": "a\n", "sub/b.txt": "b\n" });
            for (const onDestroy of ["remove", "retain"]) {
                const dest = path.join(work, `dest-${onDestroy}`);
                writeTree(dest, { "a.txt": "original a\n" });
                const stack = await newStack(backend, options({ source: src, destination: dest, stateDir: path.join(work, "state"), onDestroy }));
                await stack.up();
                await stack.destroy();
                await stack.workspace.removeStack(stack.name);
                if (onDestroy === "remove") assert.deepStrictEqual(snapshot(dest), {}, "every deployed file and created folder removed");
                else assert.deepStrictEqual(filesOf(dest), filesOf(src));
                assert.deepStrictEqual(fs.readdirSync(path.join(work, "state", destinationKey(dest))), ["records"], "no metadata left behind but the records");
            }
        });
    });
}

describe("DeltaDeployment security (real engine, real sshd)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let other: Sshd;
    let work: string;
    before(async () => {
        backend = testBackend();
        [sshd, other] = await Promise.all([startSshd(), startSshd()]);
        work = tempDir("pd-it-sec-");
        resetTree(path.join(work, "src"), { "a.txt": "a\n" });
    });
    after(async () => {
        await Promise.all([sshd.stop(), other.stop()]);
        backend.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });

    function opts(extra: Record<string, string | number | boolean | undefined>, env?: Record<string, string>): StackOptions {
        return {
            config: { host: sshd.host, port: sshd.port, user: sshd.user, source: path.join(work, "src"), stateDir: path.join(work, "state"), dialErrorLimit: 1, ...extra },
            secrets: { privateKey: sshd.privateKey },
            env,
        };
    }

    it("refuses a host whose key does not match the pinned one, showing both fingerprints, and leaves the host unchanged", async () => {
        const dest = path.join(work, "dest-wrong-key");
        await withStack(backend, opts({ destination: dest, hostKey: other.hostKey }), async (stack) => {
            await assert.rejects(stack.up(), (err: Error) => {
                const presented = fingerprint(Buffer.from(sshd.hostKey.split(" ")[1], "base64"));
                const pinned = fingerprint(Buffer.from(other.hostKey.split(" ")[1], "base64"));
                assert.ok(err.message.includes(`host key verification failed for 127.0.0.1:${sshd.port}: the server presented ${presented} (ssh-ed25519), but connection.hostKey pins ${pinned}`), err.message);
                return true;
            });
            assert.ok(!fs.existsSync(dest));
        });
    });

    it("without hostKey, trusts only known_hosts: an unknown host fails naming the fix, a listed one deploys", async () => {
        const home = path.join(work, "home");
        fs.mkdirSync(path.join(home, ".ssh"), { recursive: true });
        const dest = path.join(work, "dest-known-hosts");
        await withStack(backend, opts({ destination: dest }, { HOME: home }), async (stack) => {
            await assert.rejects(stack.up(), (err: Error) => {
                assert.match(err.message, new RegExp(`host \\[127\\.0\\.0\\.1\\]:${sshd.port} is not in ${home}/\\.ssh/known_hosts or /etc/ssh/ssh_known_hosts`));
                assert.match(err.message, /set connection\.hostKey to the host's public key line .* or set connection\.insecureIgnoreHostKey: true to skip the check/);
                return true;
            });
            assert.ok(!fs.existsSync(dest));
            fs.writeFileSync(path.join(home, ".ssh", "known_hosts"), `[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`);
            await stack.up();
            assert.deepStrictEqual(filesOf(dest), filesOf(path.join(work, "src")));
        });
    });

    it("keeps the private key out of the state file and the logs, and no provider code in state", async () => {
        const dest = path.join(work, "dest-secrets");
        await withStack(backend, opts({ destination: dest, hostKey: sshd.hostKey }), async (stack: Stack) => {
            const out = collector();
            await stack.up({ onOutput: out.onOutput });
            const stateFiles = fs.readdirSync(path.join(backend.dir, "state", ".pulumi", "stacks", "pulumi-delta-it")).map((f) => path.join(backend.dir, "state", ".pulumi", "stacks", "pulumi-delta-it", f));
            const keyBody = sshd.privateKey.split("\n")[1];
            for (const f of stateFiles) {
                const text = fs.readFileSync(f, "utf8");
                assert.ok(!text.includes("PRIVATE KEY") && !text.includes(keyBody), `${f} holds the private key in plain text`);
            }
            assert.ok(!out.text().includes(keyBody), "the key never reaches the logs");
            const stateText = fs.readFileSync(stateFiles.find((f) => f.endsWith(`${stack.name}.json`))!, "utf8");
            // The resources live in the plugin: no provider code and no dynamic resource in state.
            assert.ok(!stateText.includes("__provider"), "state holds no __provider");
            assert.ok(!stateText.includes("pulumi-nodejs:dynamic"), "state holds no dynamic resource");
            const state = JSON.parse(stateText);
            const res = state.checkpoint.latest.resources.find((r: { type: string }) => r.type === "delta:index:DeltaDeployment");
            assert.ok(res, "the DeltaDeployment is in state under its type token");
            // The key stays inside the connection, stored encrypted in the inputs and the outputs.
            assert.ok(res.inputs.connection.privateKey.ciphertext, "the private key input is stored encrypted");
            assert.ok(res.outputs.connection.privateKey.ciphertext, "the private key output is stored encrypted");
            assert.match(res.outputs.deployed, /^pdm1:/);
        });
    });
});
