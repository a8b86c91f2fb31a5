import * as net from "net";

/**
 * A TCP relay on loopback in front of sshd that counts the bytes crossing it
 * in each direction, so every tool's "bytes on the wire" is counted the same way.
 */
export interface CountingRelay {
    port: number;
    /** Bytes client → server and server → client since the last reset. */
    counts(): { up: number; down: number; total: number };
    reset(): void;
    close(): Promise<void>;
}

export function startRelay(targetPort: number): Promise<CountingRelay> {
    let up = 0;
    let down = 0;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
        const upstream = net.connect(targetPort, "127.0.0.1");
        client.setNoDelay(true);
        upstream.setNoDelay(true);
        for (const s of [client, upstream]) {
            sockets.add(s);
            s.on("close", () => sockets.delete(s));
            s.on("error", () => {
                client.destroy();
                upstream.destroy();
            });
        }
        client.on("data", (d: Buffer) => (up += d.length));
        upstream.on("data", (d: Buffer) => (down += d.length));
        client.pipe(upstream);
        upstream.pipe(client);
    });
    return new Promise((resolve, reject) => {
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            resolve({
                port: (server.address() as net.AddressInfo).port,
                counts: () => ({ up, down, total: up + down }),
                reset: () => {
                    up = 0;
                    down = 0;
                },
                close: () =>
                    new Promise((r) => {
                        for (const s of sockets) s.destroy();
                        server.close(() => r());
                    }),
            });
        });
    });
}

type RelayMessage = { port: number } | { total: number };

/** A counting relay in a process of its own; `total()` asks it for the bytes so far, both directions. */
export interface RelayProcess {
    port: number;
    total(): Promise<number>;
    close(): Promise<void>;
}

/**
 * The relay in a process of its own, so that copying every byte does not
 * compete for the event loop of the tool being measured.
 */
export function startRelayProcess(targetPort: number): Promise<RelayProcess> {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { fork } = require("child_process") as typeof import("child_process");
    const child = fork(__filename, ["--relay", String(targetPort)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    return new Promise((resolve, reject) => {
        child.once("error", reject);
        child.once("message", (m: RelayMessage) => {
            if (!("port" in m)) return reject(new Error("relay did not start"));
            resolve({
                port: m.port,
                total: () =>
                    new Promise((r) => {
                        const on = (x: RelayMessage) => {
                            if ("total" in x) {
                                child.off("message", on);
                                r(x.total);
                            }
                        };
                        child.on("message", on);
                        child.send({ total: true });
                    }),
                close: () =>
                    new Promise((r) => {
                        child.once("exit", () => r());
                        child.kill();
                    }),
            });
        });
    });
}

if (require.main === module && process.argv[2] === "--relay") {
    startRelay(Number(process.argv[3])).then((relay) => {
        process.send!({ port: relay.port });
        process.on("message", () => process.send!({ total: relay.counts().total }));
    });
}
