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
    /** Seconds any one statement may run; undefined: no limit. */
    statementTimeout?: number;
}

export interface RevertInput {
    historyTable: string;
    id: string;
    checksum: string;
    /** The down part; undefined only forgets the delta (irreversible, allowed). */
    down?: string;
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
