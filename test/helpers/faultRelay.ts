import * as net from "net";

/**
 * A TCP relay on loopback in front of sshd that can cut the connection after
 * a chosen number of bytes: the network fault of the fault trials. Bytes are
 * counted in both directions over every connection since the cut was armed;
 * the chunk that crosses the count is forwarded only up to it, then every
 * connection is cut (reset, or closed as a peer that goes away would), and
 * the relay stays down — a connection made then is closed before the SSH
 * greeting, which the plugin does not dial again — until `heal()`.
 */
export type CutHow = "reset" | "close";

export interface CutEvent {
    /** Bytes (both directions, since `armCut`) when the cut happened: the armed count. */
    bytes: number;
    /** Connections the relay had carried since `armCut`, and how many were open at the cut. */
    connections: number;
    open: number;
}

export interface FaultRelay {
    port: number;
    /** Cuts after `bytes` more bytes (counting from 0 now); `onCut` runs at that moment, synchronously. */
    armCut(bytes: number, how: CutHow, onCut?: (e: CutEvent) => void): void;
    /** Moves the armed cut to `bytes` (counted since `armCut`, not from now): for a cut measured from a moment inside the run. */
    moveCut(bytes: number): void;
    /** Forwards again, counting from 0, with no cut armed. */
    heal(): void;
    /** Bytes since the last `armCut` or `heal`, and whether the cut has happened. */
    state(): { bytes: number; cut: CutEvent | undefined; connections: number };
    /** Calls `fn(bytes)` on every chunk (for calibration: which byte count each phase starts at). */
    onBytes(fn: ((bytes: number) => void) | undefined): void;
    close(): Promise<void>;
}

export function startFaultRelay(targetPort: number): Promise<FaultRelay> {
    let bytes = 0;
    let limit = Infinity;
    let how: CutHow = "reset";
    let cut: CutEvent | undefined;
    let onCut: ((e: CutEvent) => void) | undefined;
    let watcher: ((bytes: number) => void) | undefined;
    let connections = 0;
    const pairs = new Set<[net.Socket, net.Socket]>();

    const kill = (s: net.Socket) => (how === "reset" && typeof s.resetAndDestroy === "function" ? s.resetAndDestroy() : s.destroy());
    const cutAll = () => {
        cut = { bytes, connections, open: pairs.size };
        for (const [a, b] of pairs) {
            kill(a);
            kill(b);
        }
        pairs.clear();
        onCut?.(cut);
    };
    /** Forwards `d` from `from` to `to`, up to the armed count. */
    const forward = (d: Buffer, to: net.Socket) => {
        if (cut) return;
        const room = limit - bytes;
        if (d.length >= room) {
            if (room > 0) to.write(d.subarray(0, room));
            bytes = limit;
            // After the partial chunk has been handed to the kernel, not before.
            setImmediate(cutAll);
            cut = { bytes, connections, open: pairs.size };
            return;
        }
        bytes += d.length;
        watcher?.(bytes);
        to.write(d);
    };

    const server = net.createServer((client) => {
        if (cut) {
            client.destroy();
            return;
        }
        connections++;
        const upstream = net.connect(targetPort, "127.0.0.1");
        const pair: [net.Socket, net.Socket] = [client, upstream];
        pairs.add(pair);
        client.setNoDelay(true);
        upstream.setNoDelay(true);
        const end = () => {
            pairs.delete(pair);
            client.destroy();
            upstream.destroy();
        };
        for (const s of pair) {
            s.on("error", end);
            s.on("close", end);
        }
        client.on("data", (d: Buffer) => forward(d, upstream));
        upstream.on("data", (d: Buffer) => forward(d, client));
    });

    return new Promise((resolve, reject) => {
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            resolve({
                port: (server.address() as net.AddressInfo).port,
                armCut: (n, h, fn) => {
                    bytes = 0;
                    connections = 0;
                    limit = Math.max(1, n);
                    how = h;
                    cut = undefined;
                    onCut = fn;
                },
                moveCut: (n) => {
                    if (!cut) limit = Math.max(bytes + 1, n);
                },
                heal: () => {
                    bytes = 0;
                    connections = 0;
                    limit = Infinity;
                    cut = undefined;
                    onCut = undefined;
                },
                state: () => ({ bytes, cut, connections }),
                onBytes: (fn) => (watcher = fn),
                close: () =>
                    new Promise((r) => {
                        for (const [a, b] of pairs) {
                            a.destroy();
                            b.destroy();
                        }
                        server.close(() => r());
                    }),
            });
        });
    });
}
