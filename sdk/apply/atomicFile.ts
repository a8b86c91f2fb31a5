import * as crypto from "crypto";
import type { Transport } from "../transport";

/**
 * The bookkeeping files a run reads back to decide what to undo (journals,
 * the ledger, the releases state) are written beside their place and
 * renamed over it: a run killed, cut off or out of disk mid-write leaves
 * the old file or the new one, never half of one — a half-written journal
 * would stop every later run at a JSON error. What such a run leaves is a
 * temporary file, which the next run's recovery removes (isLeftTemp).
 */
export async function writeFileAtomically(t: Transport, p: string, data: string | Buffer, mode = 0o600): Promise<void> {
    const tmp = `${p}.tmp-${crypto.randomBytes(4).toString("hex")}`;
    await t.writeFile(tmp, data, mode);
    await t.rename(tmp, p);
}

/** Whether a name in a destination's state folder is a temporary file writeFileAtomically left behind. */
export function isLeftTemp(name: string): boolean {
    return /\.json\.tmp-[0-9a-f]{8}$/.test(name);
}
