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
