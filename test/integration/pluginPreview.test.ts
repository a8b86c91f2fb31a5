import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { collector, pulumiRoot, StackOptions, testBackend, TestBackend, withStack } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { filesOf, resetTree, tempDir, TreeSpec, writeTree } from "../helpers/tree";

function tree(n: number): TreeSpec {
    const spec: TreeSpec = {};
    for (let i = 0; i < n; i++) spec[`d${i % 10}/f${i}.txt`] = `v1 ${i}\n`;
    return spec;
}

/** Every path of the tree that the text mentions. */
function named(text: string, paths: string[]): string[] {
    return paths.filter((p) => new RegExp(`(^|[\\s"])${p.replace(/[.]/g, "\\.")}(?=$|[\\s":])`, "m").test(text));
}

/** Every file under `dir` whose bytes contain `needle`. */
function filesHolding(dir: string, needle: string): string[] {
    if (!fs.existsSync(dir)) return [];
    const out: string[] = [];
    const visit = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) visit(p);
            else if (e.isFile() && fs.readFileSync(p).includes(needle)) out.push(p);
        }
    };
    visit(dir);
    return out;
}

describe("the plugin's previews above diffFileLimit (real engine, local)", function () {
    let backend: TestBackend;
    let work: string;
    before(() => {
        backend = testBackend();
        work = tempDir("pd-plugin-preview-");
    });
    after(() => {
        backend.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("names exactly the 3 changed files of 3,000 in plain preview and in preview --diff", async () => {
        const src = path.join(work, "src");
        const dest = path.join(work, "dest");
        const spec = tree(3000);
        resetTree(src, spec);
        const opts: StackOptions = { config: { source: src, destination: dest, stateDir: path.join(work, "state") } };
        await withStack(backend, opts, async (stack) => {
            await stack.up();
            assert.deepStrictEqual(filesOf(dest), filesOf(src));
            writeTree(src, { "d1/f1.txt": "changed\n", "d0/new.txt": "new\n" });
            fs.rmSync(path.join(src, "d2/f2.txt"));
            const all = [...Object.keys(spec), "d0/new.txt"];
            const plain = collector();
            await stack.preview({ onOutput: plain.onOutput });
            assert.match(plain.text(), /site: 1 added, 1 changed, 1 removed, 2998 unchanged → local:/);
            assert.deepStrictEqual(named(plain.text(), all).sort(), ["d0/new.txt", "d1/f1.txt", "d2/f2.txt"]);
            assert.deepStrictEqual([...plain.text().matchAll(/^\s+([~+-]) (d\d\/\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`), ["+ d0/new.txt", "~ d1/f1.txt", "- d2/f2.txt"]);
            const r = spawnSync(path.join(pulumiRoot(), "bin", "pulumi"), ["preview", "--diff", "--stack", stack.name, "--non-interactive"], {
                cwd: stack.workspace.workDir,
                encoding: "utf8",
                env: { ...process.env, ...backend.env, PULUMI_HOME: backend.pulumiHome, PATH: `${path.join(pulumiRoot(), "bin")}:${process.env.PATH}` },
            });
            assert.strictEqual(r.status, 0, r.stderr);
            // The diff display prints the plugin's lines on stderr, beside the diff on stdout: a terminal shows both.
            const diff = `${r.stdout}\n${r.stderr}`;
            assert.deepStrictEqual(named(diff, all).sort(), ["d0/new.txt", "d1/f1.txt", "d2/f2.txt"], diff);
            assert.match(diff, /~ manifestDigest\s*: "sha256:[0-9a-f]{64}" => "sha256:[0-9a-f]{64}"/);
        });
    });
});

describe("secrets stay secret through the plugin (real engine, real sshd)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let work: string;
    before(async () => {
        backend = testBackend();
        sshd = await startSshd();
        work = tempDir("pd-plugin-secrets-");
    });
    after(async () => {
        await sshd.stop();
        backend.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("keeps the private key out of state, the host's records, journals and ledger, the runner's caches and the plugin's files", async () => {
        const src = path.join(work, "src");
        const dest = path.join(work, "dest");
        const stateDir = path.join(work, "state");
        const cache = path.join(work, "cache");
        resetTree(src, { "index.html": "v1\n", "a/b.txt": "b\n" });
        // A line from the middle of the key: the text itself, not its armour.
        const keyLines = sshd.privateKey.trim().split("\n");
        const needle = keyLines[Math.floor(keyLines.length / 2)];
        assert.ok(needle.length > 40);
        const opts: StackOptions = {
            config: { source: src, destination: dest, stateDir, host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey },
            secrets: { privateKey: sshd.privateKey },
            env: { PULUMI_DELTA_CACHE_DIR: cache },
        };
        await withStack(backend, opts, async (stack) => {
            await stack.up();
            writeTree(src, { "index.html": "v2\n" });
            await stack.up();
            await stack.refresh();
            // The state file as the backend keeps it (the Automation API's export shows secrets decrypted).
            const stateFile = path.join(backend.dir, "state", ".pulumi", "stacks", (await stack.workspace.projectSettings()).name, `${stack.name}.json`);
            const stored = fs.readFileSync(stateFile, "utf8");
            assert.ok(!stored.includes(needle), "no key text in the state file");
            assert.ok(!stored.includes("pulumi-nodejs:dynamic") && !stored.includes("__provider"), "no dynamic provider in state");
            const state = JSON.parse(stored).checkpoint.latest as { resources: { type: string; inputs: { connection?: Record<string, unknown> }; outputs: { connection?: Record<string, unknown> } }[] };
            const res = state.resources.find((r) => r.type === "delta:index:DeltaDeployment")!;
            for (const where of [res.inputs, res.outputs]) {
                assert.deepStrictEqual(Object.keys(where.connection!.privateKey as object).sort(), ["4dabf18193072939515e22adb298388d", "ciphertext"], "stored encrypted");
            }
            assert.deepStrictEqual(filesHolding(backend.dir, needle), [], "backend files (state, history, backups)");
            assert.deepStrictEqual(filesHolding(stateDir, needle), [], "the host's stateDir");
            assert.deepStrictEqual(filesHolding(cache, needle), [], "the runner's caches");
            assert.deepStrictEqual(filesHolding(dest, needle), [], "the destination");
            assert.deepStrictEqual(filesHolding(path.join(backend.pulumiHome, "plugins"), needle), [], "the installed plugin");

            // What the engine's own verbose log prints: Pulumi logs RPC properties, secrets included, at -v=9.
            const env = { ...process.env, ...backend.env, PULUMI_HOME: backend.pulumiHome, PULUMI_DELTA_CACHE_DIR: cache, PATH: `${path.join(pulumiRoot(), "bin")}:${process.env.PATH}` };
            const quiet = execFileSync(path.join(pulumiRoot(), "bin", "pulumi"), ["preview", "--stack", stack.name, "--non-interactive", "--diff"], { cwd: stack.workspace.workDir, env, encoding: "utf8" });
            assert.ok(!quiet.includes(needle), "preview --diff prints no key text");
            const verbose = spawnSync(path.join(pulumiRoot(), "bin", "pulumi"), ["preview", "--stack", stack.name, "--non-interactive", "-v=9", "--logtostderr"], {
                cwd: stack.workspace.workDir,
                env,
                encoding: "utf8",
                maxBuffer: 512 * 1024 * 1024,
            });
            assert.strictEqual(verbose.status, 0, verbose.stderr.slice(-2000));
            const lines = `${verbose.stdout}\n${verbose.stderr}`.split("\n");
            // Not ours to change: the README's Security section says so and gives this count.
            console.log(`      pulumi preview -v=9 --logtostderr: ${lines.filter((l) => l.includes(needle)).length} of ${lines.length} log lines hold key text`);
        });
    });
});
