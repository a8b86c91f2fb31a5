import * as path from "path";
import type { Transport } from "../transport";
import { isLeftTemp } from "./atomicFile";
import { readJournal, undoJournal } from "./journal";
import { destinationKey, HostLayout } from "./layout";
import { readLedger } from "./ledger";

/**
 * What a killed run left, put right by the next one under the lock: a
 * journal whose deployment reached the ledger is finished (its undo data
 * dropped), any other is undone; staging folders, and ledger files that were
 * being written, are removed. Returns what it did, for the log.
 */
export async function recoverDestination(t: Transport, layout: HostLayout, destination: string): Promise<string[]> {
    const said: string[] = [];
    const journal = await readJournal(t, layout);
    if (journal) {
        const ledger = await readLedger(t, layout);
        if (ledger?.lastOperation === journal.id) {
            await t.removeTree(journal.staging);
            await t.removeTree(layout.backup);
            await t.unlink(layout.journal);
            said.push(`finished an interrupted run (${journal.id}) that had committed: dropped its undo data`);
        } else {
            await undoJournal(t, layout, journal);
            said.push(`undid an interrupted run (${journal.id}) found in ${layout.journal}: the destination is as it was before it`);
        }
    }
    let leaked = 0;
    for (const name of await t.readdir(layout.folder)) {
        if (name.startsWith("staging-") || isLeftTemp(name)) {
            await t.removeTree(`${layout.folder}/${name}`);
            leaked++;
        }
    }
    // Staging on another filesystem sits beside the destination.
    const beside = path.posix.dirname(destination);
    if ((await t.stat(beside))?.kind === "dir") {
        // A parent the login user cannot list holds no staging of ours either.
        for (const name of await t.readdir(beside).catch(() => [] as string[])) {
            if (name.startsWith(`.pulumi-delta-staging-${destinationKey(destination)}-`)) {
                await t.removeTree(`${beside}/${name}`);
                leaked++;
            }
        }
    }
    // A record cut off mid-write is a temporary file in records/; the records themselves are whole.
    for (const name of (await t.stat(layout.records)) ? await t.readdir(layout.records) : []) {
        if (isLeftTemp(name)) await t.unlink(`${layout.records}/${name}`);
    }
    if (leaked) said.push(`removed ${leaked} staging folder${leaked === 1 ? "" : "s"} left by an interrupted run`);
    return said;
}
