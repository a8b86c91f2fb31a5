import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { assertHost, assertRestored, hostSnapshot, HostSnapshot, NOBODY, plantHost } from "../helpers/hostTree";
import { Postgres, startPostgres } from "../helpers/postgres";
import { pulumiCommand, REPO, testBackend, TestBackend } from "../helpers/pulumi";
import { ownFilesystem } from "../helpers/ownFilesystem";
import { IsolatedNetwork, Sshd, startSshd } from "../helpers/sshd";
import { writeTree } from "../helpers/tree";

// A stack made by pulumi-delta 0.1 (Node dynamic providers) holding a
// DeltaDeployment, a DeltaFleet and a SqlDeltas moves to the plugin by
// upgrading the package and running `pulumi up`: the new resources take over
// what the old ones deployed and applied, and the old ones' deletes (run by
// 0.1's dynamic provider code, now the package's shims) touch nothing.

/** The last commit of 0.1 (dynamic providers); the test packs the library as it was there. */
const V01_COMMIT = "ad47c5c";
const SDK_VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")) as { version: string }).version;
const DELTA = "-- migrate:up\nCREATE TABLE accounts (id serial PRIMARY KEY, name text NOT NULL);\nINSERT INTO accounts (name) VALUES ('seed');\n-- migrate:down\nDROP TABLE accounts;\n";

function npm(cwd: string, args: string[]): string {
    return execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

/** `npm pack` of the library at a commit of this repository (needs the clone's history); cached per machine, as a build takes minutes. */
function packAt(commit: string, into: string): string {
    const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "pulumi-delta", "v01");
    const cached = path.join(cache, `pulumi-delta-${commit}.tgz`);
    if (fs.existsSync(cached)) return cached;
    const src = path.join(into, `src-${commit}`);
    fs.mkdirSync(src, { recursive: true });
    try {
        execFileSync("sh", ["-c", `git -C "${REPO}" archive ${commit} | tar -x -C "${src}"`], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (err) {
        throw new Error(`cannot read pulumi-delta 0.1 (commit ${commit}) from the repository's history; run the tests in a full clone (git fetch --unshallow): ${(err as Error).message}`);
    }
    npm(src, ["ci"]);
    const packed = path.join(into, npm(src, ["pack", "--silent", "--pack-destination", into]).trim().split("\n").pop()!);
    fs.mkdirSync(cache, { recursive: true });
    fs.copyFileSync(packed, `${cached}.tmp`);
    fs.renameSync(`${cached}.tmp`, cached);
    return cached;
}

function packNow(into: string): string {
    return path.join(into, npm(REPO, ["pack", "--silent", "--pack-destination", into]).trim().split("\n").pop()!);
}

function types(deployment: unknown): string[] {
    return ((deployment as { resources?: { type: string }[] }).resources ?? []).map((r) => r.type).sort();
}

function steps(events: EngineEvent[]): string[] {
    return events
        .map((e) => e.resourcePreEvent?.metadata)
        .filter((m): m is NonNullable<typeof m> => !!m && m.op !== "same" && m.type !== "pulumi:pulumi:Stack")
        .map((m) => `${m.op} ${m.type} ${m.urn.split("::").pop()}`)
        .sort();
}

describe("a 0.1 stack moves to the plugin (real engine, real sshd, real PostgreSQL)", function () {
    let backend: TestBackend;
    let work: string;
    let program: string;
    let hosts: Sshd[];
    const namespaces: IsolatedNetwork[] = [];
    let pg: Postgres;
    let stack: Stack;
    /** Each host's own files, seen by its sshd at `mnt`. */
    const root = (i: number) => path.join(work, `host${i}`);
    let mnt: string;

    before(async function () {
        this.timeout(20 * 60 * 1000);
        backend = testBackend();
        work = fs.mkdtempSync(path.join(os.tmpdir(), "pd-move01-it-"));
        mnt = path.join(work, "mnt");
        fs.mkdirSync(mnt);
        hosts = [];
        for (const i of [0, 1]) {
            fs.mkdirSync(root(i));
            const ns = await ownFilesystem(root(i), mnt);
            namespaces.push(ns);
            hosts.push(await startSshd({ netns: ns }));
        }
        pg = await startPostgres();
        program = path.join(work, "program");
        fs.cpSync(path.join(REPO, "test", "fixtures", "move01"), program, { recursive: true });
        fs.writeFileSync(path.join(program, "package.json"), JSON.stringify({ name: "pd-move01", private: true, main: "index.js" }));
        npm(program, ["install", "--no-save", packAt(V01_COMMIT, work), `@pulumi/pulumi@${SDK_VERSION}`]);
    });
    after(async () => {
        for (const h of hosts ?? []) await h.stop();
        for (const ns of namespaces) await ns.stop();
        await pg?.stop();
        backend?.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("keeps every host file and table row, runs no down part, and leaves no dynamic resource", async function () {
        this.timeout(20 * 60 * 1000);
        // Each host already has a file where the deployments will write: its original, restored by the final destroy.
        for (const i of [0, 1]) {
            plantHost(root(i), { site: 0o755, edge: 0o755 }, { "site/index.html": { content: `host ${i}'s own page\n`, mode: 0o640, uid: NOBODY, gid: NOBODY }, "edge/keep.txt": { content: "not ours\n", mode: 0o600 } });
        }
        // The deployed trees (stateDir is beside them on each host, and changes as owners change).
        const trees = ["site", "edge"];
        const snap = (i: number): HostSnapshot[] => trees.map((t) => hostSnapshot(path.join(root(i), t)));
        const check = (i: number, want: HostSnapshot[], message: string, restored: boolean) =>
            trees.forEach((t, k) => (restored ? assertRestored : (r: string, b: HostSnapshot, m: string) => assertHost(r, b, [], m))(path.join(root(i), t), want[k], `${message}: ${t}/`));
        const pristine = [0, 1].map(snap);
        const siteSrc = path.join(work, "site");
        const edgeSrc = path.join(work, "edge");
        writeTree(siteSrc, { "index.html": "<h1>v1</h1>\n", "css/app.css": "body{}\n" });
        writeTree(edgeSrc, { "media/a.bin": "a".repeat(5000), "index.txt": "edge v1\n" });
        const deltas = path.join(work, "deltas");
        writeTree(deltas, { "0001_accounts.sql": DELTA });
        pg.createDatabase("acme");

        stack = await LocalWorkspace.createOrSelectStack(
            { stackName: "move", workDir: program },
            { pulumiCommand: await pulumiCommand(), pulumiHome: backend.pulumiHome, envVars: backend.env },
        );
        const h = hosts.map((s, i) => ({ name: `h${i}`, host: s.host, port: s.port, user: s.user, hostKey: s.hostKey }));
        await stack.setAllConfig({
            hosts: { value: JSON.stringify(h) },
            privateKeys: { value: JSON.stringify(Object.fromEntries(hosts.map((s, i) => [`h${i}`, s.privateKey]))), secret: true },
            siteSource: { value: siteSrc },
            siteDestination: { value: path.join(mnt, "site") },
            fleetSource: { value: edgeSrc },
            fleetDestination: { value: path.join(mnt, "edge") },
            stateDir: { value: path.join(mnt, "state") },
            deltas: { value: deltas },
            tenants: { value: JSON.stringify(["acme"]) },
            client: { value: JSON.stringify({ host: pg.host, port: pg.port, user: pg.user }) },
            dbPassword: { value: pg.password, secret: true },
        });

        const v01 = await stack.up();
        assert.strictEqual(v01.summary.result, "succeeded");
        const before = (await stack.exportStack()).deployment;
        assert.ok(types(before).some((t) => t.startsWith("pulumi-nodejs:dynamic/")), "0.1 made dynamic resources");
        const hostBefore = [0, 1].map(snap);
        const rowsBefore = pg.query("acme", "SELECT id, checksum, applied_at FROM delta_history ORDER BY id");
        const accountsBefore = pg.query("acme", "SELECT id, name FROM accounts ORDER BY id");
        assert.strictEqual(accountsBefore, "1|seed");

        // The move: the same program, the package upgraded.
        npm(program, ["install", "--no-save", packNow(work), `@pulumi/pulumi@${SDK_VERSION}`]);
        pg.query("acme", "INSERT INTO accounts (name) VALUES ('written after 0.1')");
        const events: EngineEvent[] = [];
        const moved = await stack.up({ onEvent: (e) => events.push(e) });
        assert.strictEqual(moved.summary.result, "succeeded");
        const s = steps(events);
        assert.ok(s.includes("create delta:index:DeltaDeployment site"), s.join("\n"));
        assert.ok(s.includes("create delta:index:DeltaFleet$delta:index:DeltaDeployment edge-h0") || s.some((x) => x.startsWith("create") && x.endsWith("edge-h0")), s.join("\n"));
        assert.ok(s.some((x) => x.startsWith("delete pulumi-nodejs:dynamic:Resource") || x.startsWith("delete pulumi-nodejs:dynamic/")), s.join("\n"));
        const after = (await stack.exportStack()).deployment;
        assert.deepStrictEqual(types(after).filter((t) => t.startsWith("pulumi-nodejs") || t.startsWith("pulumi-delta:")), [], "no dynamic resource or 0.1 component is left");
        assert.ok(!JSON.stringify(after).includes("__provider"), "no provider code in state");
        // Every host file as it was, byte for byte, with modes, owners and mtimes; every row kept, no down part run.
        for (const i of [0, 1]) check(i, hostBefore[i], `host ${i} after the move`, false);
        assert.strictEqual(pg.query("acme", "SELECT id, checksum, applied_at FROM delta_history ORDER BY id"), rowsBefore);
        assert.strictEqual(pg.query("acme", "SELECT id, name FROM accounts ORDER BY id"), "1|seed\n2|written after 0.1");
        const again = await stack.preview();
        assert.deepStrictEqual(Object.keys(again.changeSummary).filter((k) => k !== "same"), [], "the moved stack previews no change");

        // The new resources own it all: destroy puts each host back as it was before 0.1, and reverts the delta.
        await stack.destroy();
        for (const i of [0, 1]) check(i, pristine[i], `host ${i} after destroy`, true);
        assert.strictEqual(pg.query("acme", "SELECT count(*) FROM information_schema.tables WHERE table_name = 'accounts'"), "0");
        await stack.workspace.removeStack(stack.name);
    });
});
