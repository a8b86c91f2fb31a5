import * as assert from "assert";
import * as http from "http";
import * as net from "net";
import { ConnectionInputs } from "../../sdk/connection";
import { openTransport } from "../../sdk/transport";
import { failure } from "../helpers/failure";
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

    it("a TCP server that closes without a word, after one dial", async () => {
        const s = await listen(net.createServer((sock) => sock.end()));
        servers.push(s);
        const { message, ms } = await dialFailure({ host: "127.0.0.1", port: s.port });
        assert.strictEqual(message, `failed to connect to root@127.0.0.1:${s.port}: the server closed the connection without an SSH greeting: it does not speak SSH, or turned this machine away; ${CHECK} ${WAIT}`);
        assert.ok(ms < 3000, `took ${ms} ms`);
        assert.strictEqual(s.accepted, 1);
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
