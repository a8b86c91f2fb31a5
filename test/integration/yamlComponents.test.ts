import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseDelta } from "../../sdk/sql";
import { assertHost, assertRestored, hostSnapshot, HostSnapshot, plantHost } from "../helpers/hostTree";
import { ownFilesystem } from "../helpers/ownFilesystem";
import { Postgres, startPostgres } from "../helpers/postgres";
import { collector, outputValues, REPO, StackOptions, testBackend, TestBackend, withStack } from "../helpers/pulumi";
import { IsolatedNetwork, Sshd, startSshd } from "../helpers/sshd";
import { resetTree, tempDir, TreeSpec } from "../helpers/tree";

const FIXTURE = path.join(REPO, "test", "fixtures", "yaml-components");
const DELTAS = ["delta_20250315_add_last_login", "20250401093000_index_last_login"];
const TENANTS = ["acme", "globex"];

const RELEASE: TreeSpec = {
    "index.html": "<h1>fleet v1</h1>\n",
    "css/site.css": "body { color: teal }\n",
    "img/logo.svg": { content: "<svg/>\n", mode: 0o600 },
};

interface TestHost {
    name: string;
    sshd: Sshd;
    /** What the host sees at the shared mount path. */
    root: string;
    ns: IsolatedNetwork;
}

describe("the plugin's components from a YAML program: DeltaFleet over 2 hosts, SqlDeltas over 2 tenants (real engine, 2 sshd, PostgreSQL)", function () {
    let backend: TestBackend;
    let pg: Postgres;
    let work: string;
    /** The path both hosts deploy under; on the runner it stays empty. */
    let mnt: string;
    const hosts: TestHost[] = [];

    before(async () => {
        backend = testBackend();
        work = tempDir("pd-yaml-components-");
        mnt = path.join(work, "mnt");
        fs.mkdirSync(mnt);
        for (const name of ["alpha", "beta"]) {
            const root = path.join(work, `host-${name}`);
            fs.mkdirSync(root);
            const ns = await ownFilesystem(root, mnt);
            hosts.push({ name, root, ns, sshd: await startSshd({ netns: ns }) });
        }
        pg = await startPostgres();
        for (const t of TENANTS) {
            pg.createDatabase(t);
            pg.query(t, "SET ROLE app; CREATE TABLE users (id serial PRIMARY KEY, email text);");
        }
    });
    after(async () => {
        for (const h of hosts) {
            await h.sshd.stop();
            await h.ns.stop();
        }
        await pg?.stop();
        backend?.dispose();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    const columns = (t: string) => pg.query(t, "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'users'");
    const hasIndex = (t: string) => pg.query(t, "SELECT count(*) FROM pg_indexes WHERE indexname = 'users_last_login'");
    const history = (t: string) => pg.query(t, "SELECT coalesce(string_agg(id || ' ' || checksum || ' ' || applied_by, ',' ORDER BY id), '') FROM delta_history");
    const checksum = (id: string) => {
        const file = `${id}.sql`;
        return parseDelta(file, fs.readFileSync(path.join(FIXTURE, "deltas", file), "utf8")).checksum;
    };

    it("up deploys the tree to both hosts and both deltas to both tenants; destroy leaves the hosts pristine and runs the down parts", async () => {
        const program = path.join(work, "program");
        fs.cpSync(FIXTURE, program, { recursive: true });
        const src = path.join(work, "src");
        resetTree(src, RELEASE);
        // Each host already has a file the release overwrites, and one it lacks.
        const before: Record<string, HostSnapshot> = {};
        for (const h of hosts) {
            plantHost(path.join(h.root, "www"), { site: 0o755 }, {
                "site/index.html": { content: `ORIGINAL index of ${h.name}\n`, mode: 0o644 },
                "site/keep.txt": { content: `${h.name}'s own\n`, mode: 0o600 },
            });
            before[h.name] = hostSnapshot(path.join(h.root, "www"));
        }
        const [alpha, beta] = hosts;
        const options: StackOptions = {
            workDir: program,
            config: {
                source: src,
                destination: path.join(mnt, "www", "site"),
                stateDir: path.join(mnt, "state"),
                user: alpha.sshd.user,
                alphaPort: alpha.sshd.port,
                alphaHostKey: alpha.sshd.hostKey,
                betaPort: beta.sshd.port,
                betaHostKey: beta.sshd.hostKey,
                pgPort: pg.port,
                pgUser: pg.user,
            },
            secrets: { alphaPrivateKey: alpha.sshd.privateKey, betaPrivateKey: beta.sshd.privateKey, pgPassword: pg.password },
        };
        await withStack(backend, options, async (stack) => {
            const log = collector();
            const up = await stack.up({ onOutput: log.onOutput }).catch((err: Error) => {
                throw new Error(`${err.message}\n--- engine output ---\n${log.text()}`);
            });
            const out = outputValues(up.outputs);

            // The fleet: both hosts hold the release over what they had, each on its own filesystem.
            for (const h of hosts) assertHost(path.join(h.root, "www"), before[h.name], [{ at: "site", source: src }], `${h.name} after up`);
            assert.deepStrictEqual(fs.readdirSync(mnt), [], "each host wrote to its own filesystem, not the runner's");
            const bytes = Object.values(RELEASE).reduce((n, v) => n + Buffer.byteLength(typeof v === "string" ? v : v.content), 0);
            const added = { added: 3, changed: 0, removed: 0, bytesSent: bytes };
            assert.deepStrictEqual(out.lastDelta, { alpha: added, beta: added });
            assert.strictEqual(new Set(Object.values(out.manifestDigest as Record<string, string>)).size, 1, "one manifest for both hosts");

            // The deltas: both tenants have both, in file order, each with a history row naming this stack.
            assert.deepStrictEqual(out.applied, { acme: DELTAS, globex: DELTAS });
            for (const t of TENANTS) {
                assert.strictEqual(columns(t), "id,email,last_login", t);
                assert.strictEqual(hasIndex(t), "1", t);
                assert.strictEqual(history(t), [...DELTAS].sort().map((id) => `${id} ${checksum(id)} pulumi-delta pulumi-delta-yaml-components/${stack.name} db`).join(","), t);
            }
            // Children as the components name them: <fleet>-<host>, <name>-<tenant>-<deltaId>.
            const urns = ((await stack.exportStack()).deployment.resources as { urn: string; type: string }[]).filter((r) => r.type.startsWith("delta:index:"));
            assert.deepStrictEqual(urns.map((r) => `${r.type} ${r.urn.split("::").pop()}`).sort(), [
                "delta:index:DeltaDeployment fleet-alpha",
                "delta:index:DeltaDeployment fleet-beta",
                "delta:index:DeltaFleet fleet",
                ...TENANTS.flatMap((t) => DELTAS.map((d) => `delta:index:SqlDelta db-${t}-${d}`)),
                "delta:index:SqlDeltas db",
            ].sort());

            // The keys and the password reach the children as secrets: stored encrypted (exportStack would decrypt; read the file).
            const stored = fs.readFileSync(path.join(backend.dir, "state", ".pulumi", "stacks", "pulumi-delta-yaml-components", `${stack.name}.json`), "utf8");
            for (const h of hosts) assert.ok(!stored.includes(h.sshd.privateKey.split("\n")[1]), `${h.name}'s private key is in state in the clear`);
            assert.ok(!stored.includes(pg.password), "the database password is in state in the clear");

            // Nothing to do on a second look.
            const same = await stack.preview();
            assert.deepStrictEqual(same.changeSummary, { same: urns.length + 1 });

            await stack.destroy();
            for (const h of hosts) assertRestored(path.join(h.root, "www"), before[h.name], `${h.name} after destroy`);
            for (const t of TENANTS) {
                assert.strictEqual(columns(t), "id,email", `${t}: the down parts ran`);
                assert.strictEqual(hasIndex(t), "0", t);
                assert.strictEqual(pg.query(t, "SELECT count(*) FROM delta_history"), "0", t);
            }
        });
    });
});
