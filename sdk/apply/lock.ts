import * as os from "os";
import type { Transport } from "../transport";
import { HostLayout } from "./layout";

export class LockedError extends Error {}

/**
 * Takes the destination's lock (a file created exclusively), so two
 * deployments of one destination never interleave. Returns its release.
 */
export async function acquireLock(t: Transport, layout: HostLayout): Promise<() => Promise<void>> {
    const holder = JSON.stringify({ pid: process.pid, runner: os.hostname(), since: new Date().toISOString() });
    if (!(await t.createExclusive(layout.lock, holder))) {
        let who = "";
        try {
            who = ` (held by ${(await t.readFile(layout.lock)).toString("utf8")})`;
        } catch {
            // Released between our attempt and the read: report without the holder.
        }
        throw new LockedError(
            `another deployment to this destination is running on ${t.host}${who}; ` +
                `if none is (a run was killed), remove ${layout.lock} on that host and run pulumi up again`,
        );
    }
    return async () => {
        await t.unlink(layout.lock).catch(() => undefined);
    };
}
