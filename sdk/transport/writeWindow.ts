import type { SFTPWrapper } from "ssh2";
import { sftpCall } from "./sftpSession";

/** Writes in flight per large file: enough to cover loopback and LAN latency. */
const WRITES_IN_FLIGHT = 16;

/**
 * Writes to one open SFTP handle with up to {@link WRITES_IN_FLIGHT}
 * outstanding, so the link stays busy; the first failure surfaces on the
 * next write or on drain. Each buffer must stay untouched until drained.
 */
export class WriteWindow {
    private readonly inFlight = new Set<Promise<void>>();
    private failure: { err: unknown } | undefined;
    private written = 0;

    constructor(
        private readonly sftp: SFTPWrapper,
        private readonly handle: Buffer,
        private readonly onBytes?: (n: number) => void,
    ) {}

    async write(buf: Buffer, length: number, position: number): Promise<void> {
        const w: Promise<void> = sftpCall<void>((cb) => this.sftp.write(this.handle, buf, 0, length, position, cb)).then(
            () => {
                this.written += length;
                this.onBytes?.(length);
                this.inFlight.delete(w);
            },
            (err) => {
                this.failure ??= { err };
                this.inFlight.delete(w);
            },
        );
        this.inFlight.add(w);
        if (this.inFlight.size >= WRITES_IN_FLIGHT) await Promise.race(this.inFlight);
        if (this.failure) throw this.failure.err;
    }

    /** Waits for every write; returns the bytes written. */
    async drain(): Promise<number> {
        await Promise.all(this.inFlight);
        if (this.failure) throw this.failure.err;
        return this.written;
    }
}
