import type { Client, SFTPWrapper } from "ssh2";

/** The cause named when a request fails because the connection under it is gone. */
export const LINK_LOST = "the SSH connection was lost";

/** SFTP requests (each takes its callback last) that must not outlive the connection. */
const REQUESTS = new Set([
    "open", "close", "read", "write", "fstat", "fchmod", "fchown", "stat", "lstat", "chmod", "chown", "mkdir", "rmdir",
    "readdir", "opendir", "readFile", "writeFile", "realpath", "rename", "unlink", "setstat", "fsetstat", "utimes", "futimes",
]);

function isRequest(name: string): boolean {
    return REQUESTS.has(name) || name.startsWith("ext_");
}

/**
 * ssh2 drops a request made on an SFTP channel that is no longer open
 * without ever calling it back, so once the link drops, every later call —
 * the undo of a half-done deployment, the release of the host's lock —
 * would wait forever and the `pulumi up` with it. This view of the session
 * fails such a call at once, and names a lost link as the cause of the
 * requests ssh2 fails when the connection closes under them.
 */
export function failFastWhenClosed(sftp: SFTPWrapper): SFTPWrapper {
    // A dead connection marks an SFTP channel's incoming side closed and leaves its outgoing side "open".
    const channel = sftp as unknown as { incoming?: { state?: string }; outgoing?: { state?: string } };
    const open = () => channel.incoming?.state !== "closed" && channel.outgoing?.state === "open";
    const lost = (err: Error) => (/^No response from server$/.test(err.message) ? Object.assign(err, { message: `${LINK_LOST} (no response from server)` }) : err);
    return new Proxy(sftp, {
        get(target, prop, receiver) {
            const value = Reflect.get(target, prop, receiver) as unknown;
            if (typeof prop !== "string" || typeof value !== "function" || !isRequest(prop)) return value;
            return (...args: unknown[]) => {
                const cb = args[args.length - 1];
                if (typeof cb !== "function") return (value as (...a: unknown[]) => unknown).apply(target, args);
                if (!open()) {
                    process.nextTick(cb as (e: Error) => void, new Error(LINK_LOST));
                    return false;
                }
                args[args.length - 1] = (err: Error | null | undefined, ...rest: unknown[]) => (cb as (...a: unknown[]) => void)(err ? lost(err) : err, ...rest);
                return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
        },
    });
}

/** Client calls that open a channel (each takes its callback last). */
const CHANNEL_OPENERS = new Set(["exec", "sftp", "shell", "forwardOut", "subsys"]);

/**
 * The same for the connection itself: once it has closed, ssh2 queues a new
 * channel (an `exec`, a second SFTP session, the hashing shell) waiting for
 * an answer that never comes. This view of the client fails such a call at
 * once, naming the lost link.
 */
export function failFastClient(client: Client): Client {
    let closed = false;
    client.once("close", () => (closed = true));
    client.once("end", () => (closed = true));
    return new Proxy(client, {
        get(target, prop, receiver) {
            const value = Reflect.get(target, prop, receiver) as unknown;
            if (typeof prop !== "string" || typeof value !== "function" || !CHANNEL_OPENERS.has(prop)) return value;
            return (...args: unknown[]) => {
                const cb = args[args.length - 1];
                if (closed && typeof cb === "function") {
                    process.nextTick(cb as (e: Error) => void, new Error(LINK_LOST));
                    return target;
                }
                return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
        },
    });
}
