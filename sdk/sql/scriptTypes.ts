import type { Owner } from "./owner";

/** A script for an engine's client, and where the delta's own SQL sits in it (for error lines). */
export interface Script {
    text: string;
    /** 1-based line of the script where the delta part begins; 0 when the script holds none. */
    partStartLine: number;
}

export interface ApplyInput {
    historyTable: string;
    id: string;
    checksum: string;
    up: string;
    /** Recorded in the history row's `applied_by`. */
    appliedBy: string;
    /** Written to the row's owner columns, whether the delta runs or is adopted. */
    owner: Owner;
    /** Seconds any one statement may run; undefined: no limit. */
    statementTimeout?: number;
}

export interface RevertInput {
    historyTable: string;
    id: string;
    checksum: string;
    /** The down part; undefined only forgets the delta (irreversible, allowed). */
    down?: string;
    /** The reverting resource's instance id; undefined for state written before instance ids. */
    instance: string | undefined;
    statementTimeout?: number;
}

/** Records `owner` in a row it already owns (newer stack or URN), or in an unowned row when `claimUnowned`. */
export interface ClaimInput {
    historyTable: string;
    id: string;
    owner: Owner;
    claimUnowned: boolean;
    statementTimeout?: number;
}

/** What a client's output said; lines we print start with this, so user SELECTs cannot be mistaken for them. */
export const MARK = "pulumi-delta:";

/** Splices a delta part into a script so that it cannot swallow what follows (a missing `;`, a trailing `--` comment). */
export function part(lines: string[], sql: string): number {
    const start = lines.length + 1;
    lines.push(...sql.split("\n"), ";");
    return start;
}
