import type { ConnectionInputs } from "../connection";
import { LocalTransport } from "./local";
import { connectSsh } from "./ssh";
import type { Transport } from "./types";

export * from "./types";
export { LocalTransport } from "./local";
export { connectSsh, SshTransport } from "./ssh";

/** The host a connection names, or the machine running Pulumi when there is none. */
export async function openTransport(connection?: ConnectionInputs): Promise<Transport> {
    return connection ? connectSsh(connection) : new LocalTransport();
}
