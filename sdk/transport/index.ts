import * as os from "os";
import { ConnectionInputs, DEFAULT_USER } from "../connection";
import { LocalTransport } from "./local";
import { connectSsh } from "./ssh";
import { SudoTransport } from "./sudo";
import type { Transport } from "./types";

export * from "./types";
export { LocalTransport } from "./local";
export { connectSsh, SshTransport } from "./ssh";
export { SudoTransport, sudoRefusal } from "./sudo";
export { shQuote } from "./shell";

/** How to act on the host once connected. */
export interface OpenOptions {
    /** "sudo": act as root through `sudo -n` when the login user is not root (see SudoTransport). */
    become?: "sudo";
}

/** The host a connection names, or the machine running Pulumi when there is none. */
export async function openTransport(connection?: ConnectionInputs, options: OpenOptions = {}): Promise<Transport> {
    const t: Transport = connection ? await connectSsh(connection) : new LocalTransport();
    // A root login needs no sudo: wrapping it would only add round trips.
    if (options.become !== "sudo" || (await t.isRoot())) return t;
    const user = connection ? (connection.user ?? DEFAULT_USER) : os.userInfo().username;
    try {
        return await SudoTransport.open(t, user);
    } catch (err) {
        await t.close().catch(() => undefined);
        throw err;
    }
}
