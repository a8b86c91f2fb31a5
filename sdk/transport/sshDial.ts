import * as net from "net";
import type { Client, ConnectConfig } from "ssh2";
import { ConnectionInputs, DEFAULT_DIAL_ERROR_LIMIT, DEFAULT_PER_DIAL_TIMEOUT, DEFAULT_PORT, DEFAULT_USER, describeConnection } from "../connection";
import { ClosedDuringHandshake, connectTimedOut, cutBeforeGreeting, DialTarget, FatalDialError, greetingFailure, isFinal, refused, tapGreeting, UnreachableDialError } from "./dialFailure";
import { hostKeyProblem } from "./hostKeyPolicy";
import { TransportError } from "./types";

// Dialing: the TCP connection (direct or through a jump host), the SSH handshake, retries, proxy chains.

/** A jump host already connected, and how to name it in messages. */
interface Hop {
    client: Client;
    name: string;
}

function openSocket(c: ConnectionInputs, prefix: string, timeoutMs: number, via?: Hop): Promise<NonNullable<ConnectConfig["sock"]>> {
    const port = c.port ?? DEFAULT_PORT;
    if (via) {
        // The jump host opens the TCP connection (a direct-tcpip channel): it, not this machine, must reach the target.
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${via.name} did not open a channel to ${c.host}:${port} within ${timeoutMs / 1000}s`)), timeoutMs);
            via.client.forwardOut("127.0.0.1", 0, c.host, port, (err, stream) => {
                clearTimeout(timer);
                if (err && /connection refused/i.test(err.message)) reject(new UnreachableDialError(`${via.name} could not reach ${c.host}:${port}: ${refused(prefix).message}`));
                else if (err) reject(new Error(`${via.name} could not reach ${c.host}:${port}: ${err.message}`));
                else resolve(stream);
            });
        });
    }
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: c.host, port });
        const timer = setTimeout(() => {
            sock.destroy();
            reject(connectTimedOut(`${c.host}:${port}`, timeoutMs / 1000));
        }, timeoutMs);
        sock.once("connect", () => {
            clearTimeout(timer);
            // With Nagle on, pipelined SFTP writes crawl at ~1 MB/s.
            sock.setNoDelay(true);
            resolve(sock);
        });
        sock.once("error", (e: NodeJS.ErrnoException) => {
            clearTimeout(timer);
            if (e.code === "ECONNREFUSED") reject(refused(prefix));
            else if (e.code === "ECONNRESET") reject(cutBeforeGreeting({ where: `${c.host}:${port}`, prefix, timeoutS: timeoutMs / 1000 }, "reset"));
            else reject(e);
        });
    });
}

function dialOnce(c: ConnectionInputs, prefix: string, via?: Hop): Promise<Client> {
    // ssh2 is required lazily so that merely loading the library (previews) stays cheap.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { Client: SshClient } = require("ssh2") as typeof import("ssh2");
    const timeoutMs = (c.perDialTimeout ?? DEFAULT_PER_DIAL_TIMEOUT) * 1000;
    const target: DialTarget = { where: `${c.host}:${c.port ?? DEFAULT_PORT}`, prefix, timeoutS: timeoutMs / 1000 };
    return openSocket(c, prefix, timeoutMs, via).then(
        (sock) =>
            new Promise<Client>((resolve, reject) => {
                const client = new SshClient();
                let greeting = (): Buffer => Buffer.alloc(0);
                let refusal: string | undefined;
                const config: ConnectConfig = {
                    sock,
                    username: c.user ?? DEFAULT_USER,
                    readyTimeout: timeoutMs,
                    keepaliveInterval: 15000,
                    hostVerifier: (key: Buffer) => {
                        try {
                            refusal = hostKeyProblem(c, key, prefix);
                        } catch (e) {
                            refusal = (e as Error).message;
                        }
                        return refusal === undefined;
                    },
                };
                if (c.password !== undefined) config.password = c.password;
                if (c.privateKey !== undefined) config.privateKey = c.privateKey;
                if (c.privateKeyPassword !== undefined) config.passphrase = c.privateKeyPassword;
                const agent = c.agentSocketPath ?? (c.privateKey || c.password ? undefined : process.env.SSH_AUTH_SOCK);
                if (agent) config.agent = agent;
                client.once("ready", () => resolve(client));
                // A link that drops mid-handshake closes the client without an error (ssh2 then clears its readyTimeout): without this the dial would wait forever.
                client.once("close", () => {
                    const closed = new ClosedDuringHandshake();
                    reject(refusal ? new FatalDialError(refusal) : (greetingFailure(greeting(), closed, target) ?? closed));
                });
                // A later failure (the link drops) surfaces through pending requests; unhandled, it would crash the process.
                client.on("error", () => undefined);
                client.once("error", (err: Error & { level?: string }) => {
                    client.end();
                    const notSsh = refusal ? undefined : greetingFailure(greeting(), err, target);
                    if (refusal) reject(new FatalDialError(refusal));
                    else if (notSsh) reject(notSsh);
                    else if (err.level === "client-authentication") {
                        reject(
                            new FatalDialError(
                                `the server refused every authentication method for user ${c.user ?? DEFAULT_USER}; ` +
                                    `check ${prefix}.user and ${prefix}.privateKey (or ${prefix}.password, ${prefix}.agentSocketPath)`,
                            ),
                        );
                    } else if (/private key|passphrase|Cannot parse privateKey/i.test(err.message)) {
                        reject(new FatalDialError(`${prefix}.privateKey cannot be used: ${err.message}; check the key text and ${prefix}.privateKeyPassword`));
                    } else reject(err);
                });
                try {
                    client.connect(config);
                    // Tapped once the client listens too, so both see every byte. What the
                    // server says first tells a port that does not speak SSH from a slow one or a cut link.
                    greeting = tapGreeting(sock);
                } catch (e) {
                    reject(new FatalDialError(`${prefix}.privateKey cannot be used: ${(e as Error).message}; check the key text and ${prefix}.privateKeyPassword`));
                }
            }),
    );
}

/** How messages name a host: the target plainly, a jump host as the proxy it is, and the hop in between. */
function hostLabel(c: ConnectionInputs, prefix: string, via?: Hop): string {
    const self = prefix === "connection" ? describeConnection(c) : `proxy ${describeConnection(c)} (${prefix})`;
    return via ? `${self} through ${via.name}` : self;
}

async function dial(c: ConnectionInputs, prefix: string, via?: Hop): Promise<Client> {
    const limit = c.dialErrorLimit ?? DEFAULT_DIAL_ERROR_LIMIT;
    let firstFailure: string | undefined;
    for (let attempt = 1; ; attempt++) {
        try {
            return await dialOnce(c, prefix, via);
        } catch (err) {
            firstFailure ??= (err as Error).message;
            if (isFinal(err, c.dialErrorLimit !== undefined)) {
                // A link cut mid-handshake often leaves the host turning later dials away: the first dial tells what started it.
                const before = attempt > 1 && firstFailure !== err.message ? ` (dial ${attempt}; dial 1 failed: ${firstFailure})` : "";
                throw new TransportError("connect to", hostLabel(c, prefix, via), "", `${err.message}${before}`);
            }
            if (limit !== -1 && attempt >= limit) {
                throw new TransportError(
                    "connect to",
                    hostLabel(c, prefix, via),
                    "",
                    `${(err as Error).message} (after ${attempt} dial${attempt > 1 ? "s" : ""}; raise ${prefix}.dialErrorLimit or ${prefix}.perDialTimeout for slow hosts)`,
                );
            }
            await new Promise((r) => setTimeout(r, Math.min(1000 * attempt, 5000)));
        }
    }
}

/**
 * Dials `c`, first dialing its `proxy` chain (a proxy may have a proxy of
 * its own); returns the client and the jump hosts it runs through,
 * outermost first, which must stay open as long as the client.
 */
export async function dialChain(c: ConnectionInputs, prefix: string): Promise<{ client: Client; hops: Client[] }> {
    const hops: Client[] = [];
    let via: Hop | undefined;
    if (c.proxy) {
        const inner = await dialChain(c.proxy, `${prefix}.proxy`);
        hops.push(...inner.hops, inner.client);
        via = { client: inner.client, name: `proxy ${describeConnection(c.proxy)} (${prefix}.proxy)` };
    }
    try {
        return { client: await dial(c, prefix, via), hops };
    } catch (e) {
        for (const h of [...hops].reverse()) h.end();
        throw e;
    }
}
