import * as fs from "fs";
import * as os from "os";

/** A process as a lock names it: enough for another process on the same machine to tell whether it still runs. */
export interface ProcessIdentity {
    pid: number;
    runner: string;
    /** The machine's boot id: a pid from another boot is another process. */
    bootId: string;
    /** The process's start time in clock ticks since boot: a reused pid has another. */
    startTicks: string;
}

function read(p: string): string {
    try {
        return fs.readFileSync(p, "utf8").trim();
    } catch {
        return "";
    }
}

/** Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces and parentheses). */
function startTicksOf(pid: number): string {
    const stat = read(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? "";
}

/** A process of this machine as a lock would name it. */
export function processIdentity(pid: number): ProcessIdentity {
    return { pid, runner: os.hostname(), bootId: read("/proc/sys/kernel/random/boot_id"), startTicks: startTicksOf(pid) };
}

export function thisProcess(): ProcessIdentity {
    return processIdentity(process.pid);
}

/**
 * Whether the process still runs: "alive" or "dead" when it ran on this
 * machine (checked in /proc), "unknown" when it ran elsewhere.
 */
export function localLiveness(p: Partial<ProcessIdentity>): "alive" | "dead" | "unknown" {
    const me = thisProcess();
    if (!p.runner || p.runner !== me.runner || !p.bootId || p.bootId !== me.bootId || typeof p.pid !== "number") return "unknown";
    if (p.pid === me.pid) return "alive";
    const ticks = startTicksOf(p.pid);
    return ticks !== "" && ticks === p.startTicks ? "alive" : "dead";
}
