import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { connectSsh } from "../../sdk/transport";
import { outputValues, StackOptions, TestBackend, testBackend, withStack } from "../helpers/pulumi";
import { IsolatedNetwork, isolatedNetwork, Sshd, startSshd } from "../helpers/sshd";
import { tempDir } from "../helpers/tree";
import { failure } from "../helpers/failure";

function logLines(sshd: Sshd, pattern: RegExp): string[] {
    // The jump host's sshd -i writes its log only once a connection arrives.
    if (!fs.existsSync(sshd.logFile)) return [];
    return fs.readFileSync(sshd.logFile, "utf8").split("\n").filter((l) => pattern.test(l));
}

// The target sshd lives in a network namespace of its own: nothing on the
// runner can open a TCP connection to it. The jump host's sshd runs inside
// that namespace too and is the only way in (the runner reaches it through
// a loopback port that hands each connection to `sshd -i` there). A
// deployment that lands therefore went through the jump host.
describe("DeltaDeployment through a bastion (connection.proxy; real engine, two real sshd, target in its own network namespace)", function () {
    let backend: TestBackend;
    let net: IsolatedNetwork;
    let target: Sshd;
    let jump: Sshd;
    let work: string;

    before(async () => {
        backend = testBackend();
        net = await isolatedNetwork();
        target = await startSshd({ netns: net, logLevel: "VERBOSE" });
        // DEBUG1 logs each direct-tcpip request with its target.
        jump = await startSshd({ netns: net, gateway: true, logLevel: "DEBUG1" });
    });
    after(async () => {
        await target?.stop();
        await jump?.stop();
        await net?.stop();
        backend.dispose();
    });
    beforeEach(() => {
        work = tempDir("pd-it-bastion-");
    });
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    function options(proxyHostKey = jump.hostKey): StackOptions {
        return {
            fixture: "reach",
            config: {
                host: target.host,
                port: target.port,
                user: target.user,
                hostKey: target.hostKey,
                proxyHost: jump.host,
                proxyPort: jump.port,
                proxyUser: jump.user,
                proxyHostKey,
                source: path.join(work, "site"),
                destination: path.join(work, "dest"),
                stateDir: path.join(work, "state"),
            },
            secrets: { privateKey: target.privateKey, proxyPrivateKey: jump.privateKey },
        };
    }

    it("reaches a target the runner cannot reach, only through the jump host; updates and destroy go the same way", async () => {
        // The runner has no route to the target: a direct connection is refused.
        const direct = await failure(connectSsh({ ...target.connection(), dialErrorLimit: 1 }));
        assert.match(direct, new RegExp(`failed to connect to ${target.user}@127\\.0\\.0\\.1:${target.port}: connection refused \\(nothing listens there\\)`));

        fs.mkdirSync(path.join(work, "site"));
        fs.writeFileSync(path.join(work, "site", "index.html"), "v1\n");
        fs.writeFileSync(path.join(work, "site", "app.js"), "js\n");
        fs.mkdirSync(path.join(work, "dest"));
        fs.writeFileSync(path.join(work, "dest", "index.html"), "original\n");
        const forwardsBefore = logLines(jump, new RegExp(`server_request_direct_tcpip: .* target 127\\.0\\.0\\.1 port ${target.port}\\r?$`)).length;
        const sessionsBefore = logLines(target, /Connection from 127\.0\.0\.1 port \d+ on 127\.0\.0\.1 port/).length;

        await withStack(backend, options(), async (stack) => {
            const up1 = await stack.up();
            assert.deepStrictEqual(outputValues(up1.outputs).lastDelta, { added: 2, changed: 0, removed: 0, bytesSent: 6 });
            assert.strictEqual(fs.readFileSync(path.join(work, "dest", "index.html"), "utf8"), "v1\n");
            assert.strictEqual(fs.readFileSync(path.join(work, "dest", "app.js"), "utf8"), "js\n");
            // Each session the target saw was a channel the jump host opened to it.
            const forwards = logLines(jump, new RegExp(`server_request_direct_tcpip: .* target 127\\.0\\.0\\.1 port ${target.port}\\r?$`)).length - forwardsBefore;
            const sessions = logLines(target, /Connection from 127\.0\.0\.1 port \d+ on 127\.0\.0\.1 port/).length - sessionsBefore;
            assert.ok(sessions >= 1, "the target saw the deployment's connection");
            assert.strictEqual(forwards, sessions, "every connection the target saw was forwarded by the jump host");

            fs.writeFileSync(path.join(work, "site", "index.html"), "v2\n");
            const up2 = await stack.up();
            assert.deepStrictEqual(outputValues(up2.outputs).lastDelta, { added: 0, changed: 1, removed: 0, bytesSent: 3 });
            assert.strictEqual(fs.readFileSync(path.join(work, "dest", "index.html"), "utf8"), "v2\n");

            await stack.destroy();
            assert.strictEqual(fs.readFileSync(path.join(work, "dest", "index.html"), "utf8"), "original\n", "destroy, through the jump host, restored the original");
            assert.ok(!fs.existsSync(path.join(work, "dest", "app.js")));
        });
    });

    it("refuses a jump host whose key does not match, naming the proxy, and touches nothing", async () => {
        fs.writeFileSync(path.join(work, "app.conf"), "new\n");
        fs.writeFileSync(path.join(work, "dest.conf"), "original\n");
        const sessionsBefore = logLines(target, /Connection from 127\.0\.0\.1 port/).length;
        const opts = options(target.hostKey); // the wrong server's key
        opts.config.source = path.join(work, "app.conf");
        opts.config.destination = path.join(work, "dest.conf");
        await withStack(backend, opts, async (stack) => {
            const msg = await failure(stack.up());
            assert.match(
                msg,
                new RegExp(
                    `failed to connect to proxy ${jump.user}@127\\.0\\.0\\.1:${jump.port} \\(connection\\.proxy\\): host key verification failed for 127\\.0\\.0\\.1:${jump.port}: ` +
                        `the server presented SHA256:\\S+ \\(ssh-ed25519\\), but connection\\.proxy\\.hostKey pins SHA256:\\S+`,
                ),
            );
            assert.strictEqual(fs.readFileSync(path.join(work, "dest.conf"), "utf8"), "original\n");
            assert.strictEqual(logLines(target, /Connection from 127\.0\.0\.1 port/).length, sessionsBefore, "the target was never contacted");
        });
    });
});
