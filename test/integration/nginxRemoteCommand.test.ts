import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { buildManifest, manifestDigest } from "../../sdk/manifest";
import { installedProgram, REPO } from "../helpers/pulumi";
import { tempDir } from "../helpers/tree";

/**
 * Runs a compiled program under Pulumi's mocks in its own process (mocks are
 * process-wide) and prints what reached the resource monitor: each
 * registration's type, name, inputs and dependencies, in order. For a
 * DeltaDeployment, the mock adds what the plugin's own Check adds (from the
 * installed package), so its manifestDigest is the one the plugin computes.
 */
const RUNNER = `
const pulumi = require("@pulumi/pulumi");
const { deltaDeployment } = require("pulumi-delta/dist/plugin/resources/deltaDeployment.js");
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
// The plugin receives secrets unwrapped.
const unwrap = (v) => Array.isArray(v) ? v.map(unwrap) : v && typeof v === "object" ? (SECRET_SIG in v ? unwrap(v.value) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]))) : v;
const registered = [];
pulumi.runtime.setMocks({
    async newResource(args) {
        const state = { ...args.inputs };
        if (args.type === "command:remote:Command") state.stdout = "reloaded";
        if (args.type === "delta:index:DeltaDeployment") {
            // What the plugin's Check adds (the manifest of source), from the installed package; then a deployment's outputs.
            const checked = await deltaDeployment.check({ urn: "", name: args.name, project: process.env.MOCK_PROJECT, stack: "dev", log() {} }, {}, unwrap(args.inputs));
            if (checked.failures.length) throw new Error(JSON.stringify(checked.failures));
            Object.assign(state, { ...checked.inputs, connection: state.connection, lastDelta: { added: 1, changed: 0, removed: 0, bytesSent: 1 } });
        }
        return { id: args.name + "-id", state };
    },
    call(args) { return args.inputs; },
}, process.env.MOCK_PROJECT, "dev", false);
const monitor = pulumi.runtime.getMonitor();
const register = monitor.registerResource.bind(monitor);
monitor.registerResource = (req, cb) => {
    // The inputs as they go on the wire to the engine (and on to the plugin), before the mock monitor reads them.
    const wire = req.getType() === "delta:index:DeltaDeployment" ? req.getObject().toJavaScript() : undefined;
    registered.push({ type: req.getType(), name: req.getName(), custom: req.getCustom(), dependencies: req.getDependenciesList(), wire });
    return register(req, cb);
};
const program = require("./index.js");
const settle = (o) => new Promise((resolve) => o.apply(resolve));
Promise.all([settle(program.manifestDigest), settle(program.reloadOutput)]).then(([digest, reload]) => {
    const inputs = {};
    for (const r of pulumi.runtime.getMonitor().resources.values()) inputs[r.urn] = r.state;
    process.stdout.write(JSON.stringify({ digest, reload, registered, inputs }));
});
`;

/** How the Pulumi wire format marks a secret value. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

interface Registration {
    type: string;
    name: string;
    custom: boolean;
    dependencies: string[];
    wire?: Record<string, unknown>;
}

/**
 * examples/nginx-config/remote-command chains @pulumi/command's remote.Command
 * after the DeltaDeployment. The command provider's plugin cannot be built
 * here, so the wiring is checked under Pulumi's mocks: the program as users
 * install it (packed library, @pulumi/command from npm), compiled with tsc.
 */
describe("examples/nginx-config/remote-command (Pulumi mocks)", function () {
    it("reloads through remote.Command after the deployment, triggered by its manifest digest", async () => {
        const dir = await installedProgram(path.join(REPO, "examples", "nginx-config", "remote-command"));
        const work = tempDir("pd-remote-command-");
        try {
            execFileSync(process.execPath, [path.join(REPO, "node_modules", "typescript", "bin", "tsc"), "-p", dir], { stdio: "inherit" });
            fs.writeFileSync(path.join(dir, "runner.js"), RUNNER);
            const source = path.join(work, "app.conf");
            fs.copyFileSync(path.join(REPO, "examples", "nginx-config", "app.conf"), source);
            const project = "pulumi-delta-nginx-config-remote-command";
            const config = {
                [`${project}:host`]: "10.0.0.5",
                // Made for this run: under mocks nothing connects, but the value must look like a key.
                [`${project}:privateKey`]: crypto.generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
                [`${project}:source`]: source,
                [`${project}:reload`]: "nginx -s reload",
            };
            const out = execFileSync(process.execPath, ["runner.js"], {
                cwd: dir,
                encoding: "utf8",
                env: { ...process.env, MOCK_PROJECT: project, PULUMI_CONFIG: JSON.stringify(config), PULUMI_DELTA_CACHE_DIR: path.join(work, "cache") },
            });
            const seen = JSON.parse(out) as { digest: string; reload: string; registered: Registration[]; inputs: Record<string, Record<string, unknown>> };
            const expected = manifestDigest(buildManifest(source, []));
            assert.strictEqual(seen.digest, expected);
            assert.strictEqual(seen.reload, "reloaded");

            const files = seen.registered.find((r) => r.type === "delta:index:DeltaDeployment" && r.name === "app-conf");
            const command = seen.registered.find((r) => r.type === "command:remote:Command" && r.name === "reload-nginx");
            assert.ok(files, `the deployment's resource was registered: ${JSON.stringify(seen.registered.map((r) => r.type))}`);
            assert.ok(files.custom, "the deployment is itself the resource that does the work");
            assert.ok(command, "the remote.Command was registered");
            const filesUrn = Object.keys(seen.inputs).find((u) => u.endsWith("delta:index:DeltaDeployment::app-conf"))!;
            const commandUrn = Object.keys(seen.inputs).find((u) => u.endsWith("command:remote:Command::reload-nginx"))!;
            // dependsOn the deployment, so the reload waits for the files.
            assert.ok(command.dependencies.includes(filesUrn), `reload depends on ${filesUrn}: ${JSON.stringify(command.dependencies)}`);
            assert.ok(seen.registered.indexOf(files) < seen.registered.indexOf(command));

            const cmd = seen.inputs[commandUrn];
            assert.strictEqual(cmd.create, "nginx -s reload");
            assert.deepStrictEqual(cmd.triggers, [expected]);
            // @pulumi/command keeps its whole connection secret (it holds the key); the same value reached it.
            const secret = cmd.connection as { [SECRET_SIG]?: string; value?: Record<string, unknown> };
            assert.strictEqual(secret[SECRET_SIG], SECRET_VALUE, "the Command's connection is a secret");
            assert.strictEqual(secret.value?.host, "10.0.0.5");
            assert.strictEqual(secret.value?.user, "root");
            const deployed = seen.inputs[filesUrn];
            assert.strictEqual(deployed.destination, "/etc/nginx/conf.d/app.conf");
            assert.strictEqual(deployed.validate, "nginx -t");
            assert.strictEqual(deployed.manifestDigest, expected);
            // On the wire, the key is a secret inside the connection; the rest of the connection is plain.
            const conn = files.wire!.connection as Record<string, unknown>;
            assert.strictEqual(conn.host, "10.0.0.5");
            assert.strictEqual(conn.user, "root");
            const key = conn.privateKey as { [SECRET_SIG]?: string; value?: string };
            assert.strictEqual(key[SECRET_SIG], SECRET_VALUE, "the deployment's privateKey is a secret");
            assert.strictEqual(key.value, config[`${project}:privateKey`]);
            assert.deepStrictEqual(
                Object.entries(conn).filter(([, v]) => JSON.stringify(v).includes("PRIVATE KEY")).map(([k]) => k),
                ["privateKey"],
                "the key is nowhere else in the deployment's connection",
            );
            assert.ok(!JSON.stringify({ ...files.wire, connection: undefined }).includes("PRIVATE KEY"), "nor in its other inputs");
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
