import type { Manifest } from "../manifest";
import type { Transport } from "../transport";
import type { DeployRequest, DeployResult } from "./deployRequest";
import type { JournalOp } from "./journal";
import type { HostLayout } from "./layout";
import { DIRECT_CALLER } from "./ledger";
import { hashOnHost, lastRecordOf, RecordChange, RecordRollback, saveRecord } from "./records";
import type { RepairedPath } from "./recheck";

/**
 * Writes the deployment's record to records/ on the host. The deployment has
 * committed by now, so a failure to write it is reported, not thrown.
 */
export async function recordDeployment(
    t: Transport,
    layout: HostLayout,
    req: DeployRequest,
    previous: Manifest,
    id: string,
    startedAt: string,
    ops: JournalOp[],
    repaired: Map<string, RepairedPath>,
): Promise<DeployResult["record"]> {
    const changes: RecordChange[] = [];
    const rollback: RecordRollback[] = [];
    for (const op of [...ops].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0))) {
        const r = repaired.get(op.slot);
        const drift = r ? { drift: r.drift, ...(r.handEdited ? { handEdited: r.handEdited } : {}) } : {};
        if (op.op === "put") {
            const e = req.next.kind === "file" ? [...req.next.entries.values()][0] : req.next.entries.get(op.slot)!;
            changes.push({ file: op.target, action: op.saved ? "update" : "create", sha256: e.sha256, bytes: e.size, ...drift });
            rollback.push(
                op.saved
                    ? { file: op.target, action: "restore", backup: op.saved === "original" ? `${layout.originals}/${op.slot}` : r?.handEdited ?? null }
                    : { file: op.target, action: "delete", backup: null },
            );
        } else if (op.restoresOriginal) {
            changes.push({ file: op.target, action: "update", ...(await hashOnHost(t, op.target)), ...drift });
            rollback.push({ file: op.target, action: "restore", backup: r?.handEdited ?? null });
        } else {
            const e = previous?.kind === "file" ? [...previous.entries.values()][0] : previous?.entries.get(op.slot);
            changes.push({ file: op.target, action: "delete", sha256: e?.sha256 ?? null, bytes: e?.size ?? null, ...drift });
            rollback.push({ file: op.target, action: "restore", backup: r?.handEdited ?? null });
        }
    }
    const saved = await saveRecord(t, layout, { id, operation: "deploy", time: startedAt, destination: req.destination, owner: { ...req.owner, instance: (req.identity ?? DIRECT_CALLER).instance }, name: req.name, changes, rollback }, req.log);
    return saved ? lastRecordOf(saved.record, saved.path) : undefined;
}
