/**
 * Which dial failures are worth another dial. Retries (dialErrorLimit) are
 * for timeouts and transient drops; a wrong host or port should fail at
 * once, naming it, rather than after a minute of back-off.
 */

/** A dial that retrying cannot fix (bad host key, refused credentials, a port that does not speak SSH). */
export class FatalDialError extends Error {}

/**
 * Nothing listens (refused, or closed before any greeting): a wrong host or
 * port, or a host still starting. Fatal unless `dialErrorLimit` was set,
 * which says the host may still be starting.
 */
export class UnreachableDialError extends Error {}

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

/**
 * The failure to report when a dial failed (`err`, from the SSH client)
 * after the server sent `received`: undefined when the server did greet as
 * SSH (the client's own error says more) or when it sent nothing and the
 * dial timed out (a slow host, worth another dial).
 */
export function greetingFailure(received: Buffer, err: Error & { level?: string }, prefix: string): Error | undefined {
    if (hasSshIdentification(received)) return undefined;
    const text = received.toString("latin1");
    if (BUSY.test(text)) return new Error(`the SSH server turned the connection away for now: ${JSON.stringify(text.trim().slice(0, 80))}`);
    const timedOut = err.level === "client-timeout";
    if (received.length === 0) {
        if (timedOut) return undefined;
        return new UnreachableDialError(`the server closed the connection without an SSH greeting: it does not speak SSH, or turned this machine away; ${checkHostAndPort(prefix)}`);
    }
    const first = text.split(/\r?\n/).find((l) => l.trim() !== "") ?? text;
    const shown = JSON.stringify(first.length > 60 ? `${first.slice(0, 60)}…` : first);
    return new FatalDialError(
        `the server does not speak SSH: it ${timedOut ? "sent" : "answered"} ${shown} where an SSH server sends "SSH-2.0-…"; check ${prefix}.host and ${prefix}.port`,
    );
}
