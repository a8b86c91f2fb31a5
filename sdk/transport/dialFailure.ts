/**
 * Which dial failures are worth another dial, and what each one says.
 * Retries (dialErrorLimit) are for timeouts and transient drops; a wrong
 * host or port should fail at once, naming it, rather than after a minute
 * of back-off. The cause must match what happened on the wire: a relay that
 * cuts a handshake is not a port that speaks another protocol.
 */

/** A dial that retrying cannot fix (bad host key, refused credentials, a port that does not speak SSH). */
export class FatalDialError extends Error {}

/**
 * Nothing listens (refused, or closed before any greeting): a wrong host or
 * port, or a host still starting. Fatal unless `dialErrorLimit` was set,
 * which says the host may still be starting.
 */
export class UnreachableDialError extends Error {}

/** The connection ended (a FIN) before the SSH client was ready: ssh2 reports that as a plain close, without an error. */
export class ClosedDuringHandshake extends Error {
    constructor() {
        super("the connection closed during the SSH handshake");
    }
}

/** Whether `err` ends the dialing now. */
export function isFinal(err: unknown, dialErrorLimitSet: boolean): err is FatalDialError | UnreachableDialError {
    return err instanceof FatalDialError || (err instanceof UnreachableDialError && !dialErrorLimitSet);
}

function checkHostAndPort(prefix: string): string {
    return `check ${prefix}.host and ${prefix}.port (to wait for a host that is still starting, set ${prefix}.dialErrorLimit)`;
}

/** The failure for a TCP connection the host refused. */
export function refused(prefix: string): UnreachableDialError {
    return new UnreachableDialError(`connection refused (nothing listens there); ${checkHostAndPort(prefix)}`);
}

/** The failure for a TCP connection that did not open in time (no SYN-ACK: nothing answered at all). */
export function connectTimedOut(where: string, timeoutS: number): Error {
    return new Error(`the TCP connection to ${where} did not open within ${timeoutS}s (the host is down or unreachable, or a firewall drops the packets)`);
}

/** Enough of what a server sends first to tell an SSH greeting from anything else. */
const GREETING_BYTES = 1024;

/**
 * Keeps the first bytes a server sends (RFC 4253: the identification line,
 * optionally after other lines), until an SSH greeting shows or
 * {@link GREETING_BYTES} are in. Returns what it has kept.
 */
export function tapGreeting(sock: NodeJS.ReadableStream): () => Buffer {
    let kept = Buffer.alloc(0);
    const onData = (d: Buffer) => {
        kept = Buffer.concat([kept, d.subarray(0, GREETING_BYTES - kept.length)]);
        if (kept.length >= GREETING_BYTES || hasSshIdentification(kept)) sock.removeListener("data", onData);
    };
    sock.on("data", onData);
    return () => kept;
}

function hasSshIdentification(b: Buffer): boolean {
    return /(^|\n)SSH-/.test(b.toString("latin1"));
}

/** sshd's answers when it turns a connection away for now: worth another dial. */
const BUSY = /Exceeded MaxStartups|Not allowed at this time/;

/** Longest excerpt of what the server sent that a message quotes. */
const SHOWN_BYTES = 60;

/**
 * `bytes` quoted, as far as {@link SHOWN_BYTES}: printable ASCII as is,
 * everything else escaped, so a binary answer (a TLS alert, a NUL) stays
 * readable in a log line and cannot break the terminal.
 */
export function quoteBytes(bytes: Buffer): string {
    const named: Record<number, string> = { 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r", 0x22: '\\"', 0x5c: "\\\\" };
    let out = "";
    for (const b of bytes.subarray(0, SHOWN_BYTES)) {
        out += named[b] ?? (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`);
    }
    return `"${out}${bytes.length > SHOWN_BYTES ? "…" : ""}"`;
}

/** The first non-blank line of what the server sent (all of it when there is no line end). */
function firstLine(received: Buffer): Buffer {
    const lines: Buffer[] = [];
    for (let start = 0; start < received.length; ) {
        const nl = received.indexOf(0x0a, start);
        const end = nl === -1 ? received.length : nl;
        lines.push(received.subarray(start, end > start && received[end - 1] === 0x0d ? end - 1 : end));
        start = end + 1;
    }
    return lines.find((l) => l.toString("latin1").trim() !== "") ?? received;
}

/** The server's SSH identification line, quoted. */
function identification(received: Buffer): string {
    const text = received.toString("latin1");
    const at = text.search(/(^|\n)SSH-/);
    return quoteBytes(firstLine(received.subarray(text[at] === "\n" ? at + 1 : at)));
}

/** Whether `received` ends in the start of an identification ("S", "SS", "SSH"): a greeting cut short. */
function endsInPartialGreeting(received: Buffer): boolean {
    const tail = received.toString("latin1").split("\n").pop() ?? "";
    return tail !== "" && "SSH-".startsWith(tail);
}

/** What the dial that failed knew, for naming the cause and the fix. */
export interface DialTarget {
    /** `host:port` as dialed (through a proxy: as the proxy dials it). */
    where: string;
    /** The input that names the host, e.g. `connection` or `connection.proxy`. */
    prefix: string;
    /** `perDialTimeout` in seconds. */
    timeoutS: number;
}

type Ending = "timeout" | "reset" | "closed" | "other";

/** How the connection ended, from the error the SSH client reported. */
function ending(err: Error & { level?: string; code?: string }): Ending {
    if (err.level === "client-timeout") return "timeout";
    if (err.code === "ECONNRESET") return "reset";
    if (err instanceof ClosedDuringHandshake || err.code === "EPIPE" || err.code === "ECONNABORTED") return "closed";
    if (err.level === "protocol" && /Connection lost before handshake/.test(err.message)) return "closed";
    return "other";
}

/** Who usually cuts a handshake, for every message that reports one. */
const CUT_CAUSES = "a firewall or relay on the way cut it, or sshd dropped it (MaxStartups, LoginGraceTime, a ban such as fail2ban)";

/**
 * A connection closed or reset before the server sent a byte. A reset can
 * reach the client while its TCP connect is still completing, so the
 * socket's own ECONNRESET means this too.
 */
export function cutBeforeGreeting(t: DialTarget, how: "closed" | "reset"): UnreachableDialError {
    return new UnreachableDialError(
        `the connection to ${t.where} was ${how} during the SSH handshake, before the server sent its greeting: ${CUT_CAUSES}; ` +
            `check ${t.prefix}.host and ${t.prefix}.port and the log of sshd there (it says why it dropped a connection); ` +
            `to dial again while the drops last, set ${t.prefix}.dialErrorLimit`,
    );
}

/**
 * The failure to report when a dial failed (`err`, from the SSH client)
 * after the server sent `received`; undefined when the server did greet as
 * SSH and the client's own error says more (a refused key exchange, bad
 * credentials). Closed or reset before any greeting is an
 * {@link UnreachableDialError}; bytes that are not SSH a
 * {@link FatalDialError}; a cut or a timeout after the greeting began is
 * worth another dial.
 */
export function greetingFailure(received: Buffer, err: Error & { level?: string; code?: string }, t: DialTarget): Error | undefined {
    const how = ending(err);
    const cut = how === "reset" ? "was reset" : "was closed";
    if (hasSshIdentification(received)) {
        const greeted = `after the server's greeting ${identification(received)}`;
        if (how === "timeout") return new Error(`the SSH handshake with ${t.where} did not finish within ${t.timeoutS}s, ${greeted} (a slow or overloaded host, or a link that stalls)`);
        if (how === "other") return undefined;
        return new Error(`the connection to ${t.where} ${cut} during the SSH handshake, ${greeted}: ${CUT_CAUSES}`);
    }
    const text = received.toString("latin1");
    if (BUSY.test(text)) return new Error(`the SSH server turned the connection away for now: ${quoteBytes(firstLine(received))}`);
    if (received.length === 0) {
        if (how === "timeout") {
            return new Error(`the SSH handshake with ${t.where} did not start within ${t.timeoutS}s: the server sent nothing (a slow or overloaded host, or a firewall that holds the connection open)`);
        }
        return cutBeforeGreeting(t, how === "reset" ? "reset" : "closed");
    }
    if (how !== "timeout" && endsInPartialGreeting(received)) {
        return new Error(`the connection to ${t.where} ${cut} during the SSH handshake, partway through the server's greeting (it had sent ${quoteBytes(received)}): ${CUT_CAUSES}`);
    }
    return new FatalDialError(
        `the server does not speak SSH: it ${how === "timeout" ? "sent" : "answered"} ${quoteBytes(firstLine(received))} where an SSH server sends "SSH-2.0-…"; check ${t.prefix}.host and ${t.prefix}.port`,
    );
}
