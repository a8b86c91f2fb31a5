import type { Client, ClientChannel } from "ssh2";
import { parseSha256 } from "./shell";

/** What one hash request came back with. */
export type HasherAnswer =
    | { kind: "hash"; hex: string }
    | { kind: "failed"; message: string }
    /** The host has neither openssl nor sha256sum. */
    | { kind: "no-tool" }
    /** The hashing shell could not be used (session refused, closed early): hash another way. */
    | { kind: "unavailable"; message: string };

/*
 * One shell, started once, reads paths (one per line) and answers each with
 * "<exit code> <output on one line>". Every new session costs the login
 * shell's start-up (its rc files: 0.6 s for root on the machines measured,
 * whose .bashrc runs pyenv), so a shell started while the patch's ranges
 * are still travelling is ready by the time the patched file needs hashing.
 */
const SCRIPT =
    `if command -v openssl >/dev/null 2>&1; then set -- openssl dgst -sha256 -r; ` +
    `elif command -v sha256sum >/dev/null 2>&1; then set -- sha256sum -b; ` +
    `else echo PULUMI_DELTA_NO_TOOL; exit 0; fi; ` +
    `echo PULUMI_DELTA_READY; ` +
    `while IFS= read -r p; do r=$("$@" "$p" 2>&1); echo "$? $(printf '%s' "$r" | tr '\\n' ' ')"; done`;

/**
 * A long-lived hashing shell on the host, opened ahead of need. Requests are
 * answered in order; any trouble with the shell itself turns into
 * "unavailable" answers, so callers can fall back to one exec per hash.
 */
export class HostHasher {
    private channel?: ClientChannel;
    private state: "starting" | "ready" | "no-tool" | "gone" = "starting";
    private goneReason = "";
    private buffered = "";
    /** Requests sent (or waiting for the shell to be ready), oldest first. */
    private readonly waiting: { path: string; resolve: (a: HasherAnswer) => void }[] = [];
    private sent = 0;

    constructor(client: Client) {
        client.exec(SCRIPT, (err, channel) => {
            if (err) return this.gone(`cannot open a session for hashing: ${err.message}`);
            this.channel = channel;
            channel.on("data", (d: Buffer) => this.read(d.toString("utf8")));
            channel.stderr.on("data", () => undefined);
            channel.on("close", () => this.gone("the hashing shell ended"));
            // Opened after close() was called: nothing will use it.
            if (this.state === "gone") channel.close();
        });
    }

    /** sha256 of `path` on the host. Paths holding a line break are not sent (the protocol is line-based). */
    hash(path: string): Promise<HasherAnswer> {
        if (/[\n\r]/.test(path)) return Promise.resolve({ kind: "unavailable", message: "path holds a line break" });
        if (this.state === "gone") return Promise.resolve({ kind: "unavailable", message: this.goneReason });
        if (this.state === "no-tool") return Promise.resolve({ kind: "no-tool" });
        return new Promise((resolve) => {
            this.waiting.push({ path, resolve });
            this.flush();
        });
    }

    close(): void {
        this.gone("closed");
    }

    private flush(): void {
        if (this.state !== "ready" || !this.channel) return;
        for (; this.sent < this.waiting.length; this.sent++) this.channel.write(`${this.waiting[this.sent].path}\n`);
    }

    private read(text: string): void {
        this.buffered += text;
        let nl: number;
        while ((nl = this.buffered.indexOf("\n")) >= 0) {
            const line = this.buffered.slice(0, nl);
            this.buffered = this.buffered.slice(nl + 1);
            this.line(line);
        }
    }

    private line(line: string): void {
        if (this.state === "starting") {
            // Anything the login shell's rc files print comes before the marker.
            if (line === "PULUMI_DELTA_READY") {
                this.state = "ready";
                this.flush();
            } else if (line === "PULUMI_DELTA_NO_TOOL") {
                this.state = "no-tool";
                for (const w of this.waiting.splice(0)) w.resolve({ kind: "no-tool" });
            }
            return;
        }
        const w = this.waiting.shift();
        if (!w) return;
        this.sent--;
        const m = /^(\d+) (.*)$/.exec(line);
        const hex = m && m[1] === "0" ? parseSha256(m[2]) : undefined;
        w.resolve(hex ? { kind: "hash", hex } : { kind: "failed", message: (m ? m[2] : line).trim() || `exit code ${m?.[1]}` });
    }

    private gone(reason: string): void {
        if (this.state === "gone") return;
        this.state = "gone";
        this.goneReason = reason;
        this.sent = 0;
        for (const w of this.waiting.splice(0)) w.resolve({ kind: "unavailable", message: reason });
        this.channel?.close();
    }
}
