import * as assert from "assert";
import * as http from "http";
import * as net from "net";
import { ConnectionInputs } from "../../sdk/connection";
import { openTransport } from "../../sdk/transport";
import { failure } from "../helpers/failure";
import { startFaultRelay } from "../helpers/faultRelay";
import { Sshd, startSshd } from "../helpers/sshd";

/** A port on loopback that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise((r) => srv.close(r));
    return port;
}

/** A server on loopback that counts the connections it accepts, so a test can tell one dial from several. */
interface Listening {
    port: number;
    accepted: number;
    close(): Promise<void>;
}

async function listen(server: net.Server): Promise<Listening> {
    const l: Listening = { port: 0, accepted: 0, close: () => new Promise((r) => server.close(() => r())) };
    const sockets = new Set<net.Socket>();
    server.on("connection", (s: net.Socket) => {
        l.accepted++;
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    l.port = (server.address() as net.AddressInfo).port;
    l.close = () =>
        new Promise((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
        });
    return l;
}

/** The dial's error message and how long it took to fail. */
async function dialFailure(c: ConnectionInputs): Promise<{ message: string; ms: number }> {
    const start = Date.now();
    const message = await failure(openTransport(c));
    return { message, ms: Date.now() - start };
}

const CHECK = "check connection.host and connection.port";
const WAIT = "(to wait for a host that is still starting, set connection.dialErrorLimit)";
const CUT = "a firewall or relay on the way cut it, or sshd dropped it (MaxStartups, LoginGraceTime, a ban such as fail2ban)";
const AFTER = (n: number) => `(after ${n} dial${n > 1 ? "s" : ""}; raise connection.dialErrorLimit or connection.perDialTimeout for slow hosts)`;

function cutBeforeGreeting(port: number, how: "closed" | "reset"): string {
    return (
        `the connection to 127.0.0.1:${port} was ${how} during the SSH handshake, before the server sent its greeting: ${CUT}; ` +
        `${CHECK} and the log of sshd there (it says why it dropped a connection); to dial again while the drops last, set connection.dialErrorLimit`
    );
}

/** The identification line a server sends first (sshd's version varies with the machine). */
async function greetingOf(port: number): Promise<string> {
    const sock = net.connect(port, "127.0.0.1");
    let text = "";
    for await (const d of sock) {
        text += (d as Buffer).toString("latin1");
        if (text.includes("\n")) break;
    }
    sock.destroy();
    return text.split(/\r?\n/)[0];
}

describe("dialing a wrong host or port fails at once, naming it (real TCP servers, real SSH transport)", function () {
    const servers: Listening[] = [];
    afterEach(async () => {
        for (const s of servers.splice(0)) await s.close();
    });

    it("a refused connection: nothing listens there", async () => {
        const port = await closedPort();
        const { message, ms } = await dialFailure({ host: "127.0.0.1", port });
        assert.strictEqual(message, `failed to connect to root@127.0.0.1:${port}: connection refused (nothing listens there); ${CHECK} ${WAIT}`);
        assert.ok(ms < 3000, `took ${ms} ms`);
    });

    it("an HTTP server: it does not speak SSH, after one dial", async () => {
        const s = await listen(http.createServer((_req, res) => res.end("hi")));
        servers.push(s);
        const { message, ms } = await dialFailure({ host: "127.0.0.1", port: s.port });
        assert.strictEqual(message, `failed to connect to root@127.0.0.1:${s.port}: the server does not speak SSH: it answered "HTTP/1.1 400 Bad Request" where an SSH server sends "SSH-2.0-…"; ${CHECK}`);
        assert.ok(ms < 3000, `took ${ms} ms`);
        assert.strictEqual(s.accepted, 1);
    });

    it('a TCP server that says "hello" and closes: it does not speak SSH, after one dial', async () => {
        const s = await listen(net.createServer((sock) => sock.end("hello\r\n")));
        servers.push(s);
        const { message, ms } = await dialFailure({ host: "127.0.0.1", port: s.port });
        assert.strictEqual(message, `failed to connect to root@127.0.0.1:${s.port}: the server does not speak SSH: it answered "hello" where an SSH server sends "SSH-2.0-…"; ${CHECK}`);
        assert.ok(ms < 3000, `took ${ms} ms`);
        assert.strictEqual(s.accepted, 1);
    });

    it("a TCP server that answers in binary: it does not speak SSH, the bytes escaped", async () => {
        // A TLS server's alert (protocol version) to a client that did not say hello.
        const s = await listen(net.createServer((sock) => sock.end(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]))));
        servers.push(s);
        const { message } = await dialFailure({ host: "127.0.0.1", port: s.port });
        assert.strictEqual(message, `failed to connect to root@127.0.0.1:${s.port}: the server does not speak SSH: it answered "\\x15\\x03\\x01\\x00\\x02\\x02F" where an SSH server sends "SSH-2.0-…"; ${CHECK}`);
        assert.strictEqual(s.accepted, 1);
    });

    // Regression: a cut (a relay, a firewall, sshd's MaxStartups) was reported as a port that "does not speak SSH".
    for (const how of ["closes", "resets"] as const) {
        it(`a TCP server that ${how} the connection without a word: a cut during the handshake, after one dial`, async () => {
            const s = await listen(net.createServer((sock) => (how === "closes" ? sock.end() : sock.resetAndDestroy())));
            servers.push(s);
            const { message, ms } = await dialFailure({ host: "127.0.0.1", port: s.port });
            assert.strictEqual(message, `failed to connect to root@127.0.0.1:${s.port}: ${cutBeforeGreeting(s.port, how === "closes" ? "closed" : "reset")}`);
            assert.ok(ms < 3000, `took ${ms} ms`);
            assert.strictEqual(s.accepted, 1);
        });
    }

    it("a server that greets as SSH, then closes as the client answers: a cut, dialed again", async () => {
        const s = await listen(
            net.createServer((sock) => {
                sock.write("SSH-2.0-OpenSSH_9.6\r\n");
                sock.once("data", () => sock.end());
            }),
        );
        servers.push(s);
        const { message } = await dialFailure({ host: "127.0.0.1", port: s.port, dialErrorLimit: 2 });
        assert.strictEqual(
            message,
            `failed to connect to root@127.0.0.1:${s.port}: the connection to 127.0.0.1:${s.port} was closed during the SSH handshake, after the server's greeting "SSH-2.0-OpenSSH_9.6": ${CUT} ${AFTER(2)}`,
        );
        assert.strictEqual(s.accepted, 2);
    });

    it("a server that accepts and says nothing: the handshake timed out", async () => {
        const s = await listen(net.createServer(() => undefined));
        servers.push(s);
        const { message } = await dialFailure({ host: "127.0.0.1", port: s.port, perDialTimeout: 1, dialErrorLimit: 1 });
        assert.strictEqual(
            message,
            `failed to connect to root@127.0.0.1:${s.port}: the SSH handshake with 127.0.0.1:${s.port} did not start within 1s: the server sent nothing (a slow or overloaded host, or a firewall that holds the connection open) ${AFTER(1)}`,
        );
    });

    it("a server that greets as SSH, then stalls: the handshake timed out after the greeting", async () => {
        const s = await listen(net.createServer((sock) => sock.write("SSH-2.0-OpenSSH_9.6\r\n")));
        servers.push(s);
        const { message } = await dialFailure({ host: "127.0.0.1", port: s.port, perDialTimeout: 1, dialErrorLimit: 1 });
        assert.strictEqual(
            message,
            `failed to connect to root@127.0.0.1:${s.port}: the SSH handshake with 127.0.0.1:${s.port} did not finish within 1s, after the server's greeting "SSH-2.0-OpenSSH_9.6" (a slow or overloaded host, or a link that stalls) ${AFTER(1)}`,
        );
    });

    it("a server that greets with something else and waits: one timed-out dial, not ten", async () => {
        const s = await listen(net.createServer((sock) => sock.write("220 mail.example ESMTP\r\n")));
        servers.push(s);
        const { message, ms } = await dialFailure({ host: "127.0.0.1", port: s.port, perDialTimeout: 1 });
        assert.strictEqual(message, `failed to connect to root@127.0.0.1:${s.port}: the server does not speak SSH: it sent "220 mail.example ESMTP" where an SSH server sends "SSH-2.0-…"; ${CHECK}`);
        assert.ok(ms < 3000, `took ${ms} ms`);
        assert.strictEqual(s.accepted, 1);
    });

    it("sshd turning connections away for now (MaxStartups) is dialed again", async () => {
        const s = await listen(net.createServer((sock) => sock.end("Exceeded MaxStartups\r\n")));
        servers.push(s);
        const { message } = await dialFailure({ host: "127.0.0.1", port: s.port, dialErrorLimit: 2 });
        assert.strictEqual(
            message,
            `failed to connect to root@127.0.0.1:${s.port}: the SSH server turned the connection away for now: "Exceeded MaxStartups" (after 2 dials; raise connection.dialErrorLimit or connection.perDialTimeout for slow hosts)`,
        );
        assert.strictEqual(s.accepted, 2);
    });

    it("with dialErrorLimit set, a refused connection is dialed again (a host still starting)", async () => {
        const port = await closedPort();
        const { message, ms } = await dialFailure({ host: "127.0.0.1", port, dialErrorLimit: 2 });
        assert.strictEqual(
            message,
            `failed to connect to root@127.0.0.1:${port}: connection refused (nothing listens there); ${CHECK} ${WAIT} (after 2 dials; raise connection.dialErrorLimit or connection.perDialTimeout for slow hosts)`,
        );
        // One back-off (1 s) between the two dials.
        assert.ok(ms >= 1000, `took ${ms} ms`);
    });

    describe("a relay in front of a real sshd that cuts mid-handshake and then stays down", () => {
        let sshd: Sshd;
        before(async () => {
            sshd = await startSshd();
        });
        after(async () => {
            await sshd?.stop();
        });

        for (const how of ["close", "reset"] as const) {
            it(`(${how}) names the cut after the greeting, then the closed connections, never "does not speak SSH"`, async () => {
                const relay = await startFaultRelay(sshd.port);
                try {
                    const greeting = await greetingOf(sshd.port);
                    // Past both identification lines (22 + 41 bytes here) and within the key exchange (the dial is ready near 3,500 bytes).
                    relay.armCut(2500, how);
                    const { message } = await dialFailure({ ...sshd.connection(), port: relay.port });
                    const first = `the connection to 127.0.0.1:${relay.port} was ${how === "close" ? "closed" : "reset"} during the SSH handshake, after the server's greeting "${greeting}": ${CUT}`;
                    assert.strictEqual(message, `failed to connect to ${sshd.user}@127.0.0.1:${relay.port}: ${cutBeforeGreeting(relay.port, "closed")} (dial 2; dial 1 failed: ${first})`);
                    assert.ok(!/does not speak SSH/.test(message));
                } finally {
                    await relay.close();
                }
            });
        }
    });

    describe("through a proxy", () => {
        let jump: Sshd;
        before(async () => {
            jump = await startSshd();
        });
        after(async () => {
            await jump?.stop();
        });

        it("a target port the proxy finds closed fails at once, naming both", async () => {
            const port = await closedPort();
            const { message, ms } = await dialFailure({ host: "127.0.0.1", port, proxy: jump.connection() });
            assert.strictEqual(
                message,
                `failed to connect to root@127.0.0.1:${port} through proxy ${jump.user}@127.0.0.1:${jump.port} (connection.proxy): ` +
                    `proxy ${jump.user}@127.0.0.1:${jump.port} (connection.proxy) could not reach 127.0.0.1:${port}: connection refused (nothing listens there); ${CHECK} ${WAIT}`,
            );
            assert.ok(ms < 3000, `took ${ms} ms`);
        });
    });
});
