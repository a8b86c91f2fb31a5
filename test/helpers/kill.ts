import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { pulumiCommand, TestBackend } from "./pulumi";

/** The deployment phases the provider marks (PULUMI_DELTA_PHASE_MARKER_DIR), in the order a deployment enters them. */
export const PHASES = ["upload", "journal", "commit", "bookkeeping"] as const;
export type Phase = (typeof PHASES)[number];

/** A `pulumi up` run by its own CLI process, so that a test can kill it (or its provider) at a moment of its choosing. */
export interface CliRun {
    proc: ChildProcess;
    pid: number;
    /** Resolves with the exit code (null when killed by a signal) once the CLI has exited. */
    exited: Promise<number | null>;
    output: () => string;
}

/** Starts `pulumi up --yes --skip-preview` on the stack, with the env `runCli` uses plus `env`. */
export async function spawnUp(backend: TestBackend, stack: Stack, env: Record<string, string>): Promise<CliRun> {
    const cmd = await pulumiCommand();
    const bin = path.dirname(cmd.command);
    const proc = spawn(cmd.command, ["up", "--yes", "--skip-preview", "--stack", stack.name, "--non-interactive"], {
        cwd: stack.workspace.workDir,
        env: { ...process.env, ...backend.env, PULUMI_HOME: backend.pulumiHome, PATH: `${bin}:${process.env.PATH}`, ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    const parts: string[] = [];
    proc.stdout!.on("data", (d: Buffer) => parts.push(d.toString()));
    proc.stderr!.on("data", (d: Buffer) => parts.push(d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    return { proc, pid: proc.pid!, exited, output: () => parts.join("") };
}

/** pid → parent pid of every process now, from /proc. */
function parents(): Map<number, number> {
    const out = new Map<number, number>();
    for (const name of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(name)) continue;
        try {
            // The command name is in parentheses and may hold spaces: the fields after the last ")" are fixed.
            const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            out.set(Number(name), ppid);
        } catch {
            // Exited while we looked.
        }
    }
    return out;
}

/** Every live descendant of `pid`. */
export function descendants(pid: number): number[] {
    const tree = parents();
    const out: number[] = [];
    const seen = new Set([pid]);
    let grew = true;
    while (grew) {
        grew = false;
        for (const [child, parent] of tree) {
            if (seen.has(parent) && !seen.has(child)) {
                seen.add(child);
                out.push(child);
                grew = true;
            }
        }
    }
    return out;
}

export function commandLine(pid: number): string {
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    } catch {
        return "";
    }
}

/**
 * The plugin processes the engine started for this run: `pulumi-resource-delta`, whose sh script
 * `exec`s `node <plugins>/resource-delta-v<version>/plugin.js` (so the node process is the engine's child).
 */
export const PLUGIN_COMMAND = /(^|\/)pulumi-resource-delta( |$)|\/resource-delta-v[^/ ]*\/plugin\.js( |$)/;

/** The plugin processes (pulumi-resource-delta) among the CLI's descendants: the ones holding the host's lock. */
export function providerPids(cliPid: number): number[] {
    return descendants(cliPid).filter((p) => PLUGIN_COMMAND.test(commandLine(p)));
}

/** Every plugin process (pulumi-resource-delta) on the machine whose command line names `home` (a test's Pulumi home). */
export function pluginPidsUnder(home: string): number[] {
    return fs
        .readdirSync("/proc")
        .filter((n) => /^\d+$/.test(n))
        .map(Number)
        .filter((p) => alive(p) && PLUGIN_COMMAND.test(commandLine(p)) && commandLine(p).includes(home));
}

export function alive(pid: number): boolean {
    try {
        // A zombie has exited; only its entry remains until it is reaped.
        return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms until it holds (true) or `ms` pass (false). */
export async function waitUntil(cond: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!cond()) {
        if (Date.now() > deadline) return false;
        await sleep(10);
    }
    return true;
}

/** The phases whose markers exist in `dir`, in phase order. */
export function markedPhases(dir: string): Phase[] {
    return PHASES.filter((p) => fs.existsSync(path.join(dir, p)));
}

/**
 * Waits for the provider to enter `phase` (its marker appears in `dir`).
 * Fails, with the CLI's output, if the run ends first or within `ms`.
 */
export async function waitForPhase(run: CliRun, dir: string, phase: Phase, ms = 120000): Promise<void> {
    let ended = false;
    void run.exited.then(() => (ended = true));
    const marker = path.join(dir, phase);
    const seen = await waitUntil(() => ended || fs.existsSync(marker), ms);
    if (fs.existsSync(marker)) return;
    throw new Error(
        `the provider never entered phase "${phase}" (markers seen: ${markedPhases(dir).join(", ") || "none"}; ` +
            `${seen ? "the run ended first" : `not within ${ms} ms`}): does it honour PULUMI_DELTA_PHASE_MARKER_DIR?\n${run.output()}`,
    );
}

/** Kills `pid` with SIGKILL (no clean-up of any kind); false if it had already gone. */
export function killNow(pid: number): boolean {
    try {
        process.kill(pid, "SIGKILL");
        return true;
    } catch {
        return false;
    }
}

/** A backend that still holds the killed update's lock says so; only then is `pulumi cancel` run. */
const NEEDS_CANCEL = /currently (locked|being updated)|another update is currently in progress|pulumi cancel/i;

/**
 * The `pulumi up` after a killed run. A file backend keeps the killed CLI's
 * stack lock, which only `pulumi cancel` drops: that is run when (and only
 * when) the up is refused for it. Nothing is done on the host.
 */
export async function recoveringUp(stack: Stack): Promise<{ out: Awaited<ReturnType<Stack["up"]>>; cancelled: boolean }> {
    try {
        return { out: await stack.up(), cancelled: false };
    } catch (err) {
        if (!NEEDS_CANCEL.test((err as Error).message)) throw err;
        await stack.cancel();
        return { out: await stack.up(), cancelled: true };
    }
}

