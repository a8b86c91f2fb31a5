import type { ExecResult, Transport } from "../transport";

/** Commands a deployment runs on the host (see DeltaDeploymentArgs for the user-facing docs). */
export interface Hooks {
    /** Checks the new files; with `{staged}`, the staged copy of a single file before anything moves. */
    validate?: string;
    /** Runs after files changed (e.g. a reload); a failure restores the previous files and runs it again. */
    onChange?: string;
    /** Milliseconds each hook may run before it is killed and counts as failed. Default: 60000. */
    timeoutMs?: number;
}

export type HookName = "validate" | "onChange";

export const DEFAULT_HOOK_TIMEOUT_SECONDS = 60;
export const STAGED = "{staged}";
/** Hook output kept in an error message, per run. */
const OUTPUT_LIMIT = 4000;

export class HookError extends Error {
    constructor(
        message: string,
        /** True when the failure already put the previous files back. */
        readonly undone = false,
    ) {
        super(message);
        this.name = "HookError";
    }
}

/** Single-quotes a word for a POSIX shell. */
export function shellQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function usesStaged(command: string | undefined): boolean {
    return command !== undefined && command.includes(STAGED);
}

/** The command with every `{staged}` replaced by the quoted path; nothing else is interpolated. */
export function withStaged(command: string, stagedPath: string): string {
    return command.split(STAGED).join(shellQuote(stagedPath));
}

/** One finished run of a hook. */
export interface HookRun {
    ok: boolean;
    /** `exited with code N` or `timed out after Ns (killed)`, then the output. */
    outcome: string;
}

function outputOf(r: ExecResult): string {
    let text = [r.stdout.trim(), r.stderr.trim()].filter((s) => s !== "").join("\n");
    if (text.length > OUTPUT_LIMIT) text = `${text.slice(0, OUTPUT_LIMIT)}… (${text.length - OUTPUT_LIMIT} more characters)`;
    return text === "" ? "(no output)" : text;
}

/** Exit codes of coreutils `timeout` when it had to stop the command (TERM, then KILL). */
const TIMEOUT_CODES = [124, 137];

/**
 * The command as given, run by the host's shell under coreutils `timeout`
 * when the host has it: that kills the command's whole process group, where
 * an SSH channel's signal reaches only the shell and leaves its children
 * holding the channel open. The transport's own timeout stays as a backstop.
 */
function wrapped(t: Transport, command: string, ms: number): string {
    const shell = t.host === "local" ? "/bin/sh" : '"${SHELL:-/bin/sh}"';
    const run = `${shell} -c ${shellQuote(command)}`;
    return `if command -v timeout >/dev/null 2>&1; then exec timeout -k 2 ${ms / 1000} ${run}; else exec ${run}; fi`;
}

export async function runHook(t: Transport, command: string, timeoutMs: number | undefined): Promise<HookRun> {
    const ms = timeoutMs ?? DEFAULT_HOOK_TIMEOUT_SECONDS * 1000;
    const started = Date.now();
    const r = await t.exec(wrapped(t, command, ms), { timeoutMs: ms + 5000 });
    const timedOut = r.timedOut === true || (r.code !== null && TIMEOUT_CODES.includes(r.code) && Date.now() - started >= ms);
    const status = timedOut ? `timed out after ${ms / 1000}s (killed)` : r.code === null ? "was killed by a signal" : `exited with code ${r.code}`;
    return { ok: !timedOut && r.code === 0, outcome: `${status}; output:\n${outputOf(r)}` };
}

export function hookFailure(t: Transport, hook: HookName, command: string, run: HookRun): string {
    return `${hook} hook failed on ${t.host}: \`${command}\` ${run.outcome}`;
}

/** Runs validate with `{staged}` on a staged file; throws HookError (nothing moved yet). */
export async function validateStaged(t: Transport, hooks: Hooks, stagedPath: string): Promise<void> {
    if (!hooks.validate || !usesStaged(hooks.validate)) return;
    const command = withStaged(hooks.validate, stagedPath);
    const run = await runHook(t, command, hooks.timeoutMs);
    if (!run.ok) throw new HookError(`${hookFailure(t, "validate", command, run)}\nnothing was moved into place`);
}

/**
 * The hooks that run with the new files in place, while the journal still
 * exists: validate (without `{staged}`), then onChange. A validate failure
 * is thrown for the caller to undo; an onChange failure is undone here
 * (`undo`), onChange runs again, and the error carries both outputs.
 */
export async function runInPlaceHooks(t: Transport, hooks: Hooks, undo: () => Promise<void>, log?: (line: string) => void): Promise<void> {
    if (hooks.validate && !usesStaged(hooks.validate)) {
        const run = await runHook(t, hooks.validate, hooks.timeoutMs);
        if (!run.ok) throw new HookError(`${hookFailure(t, "validate", hooks.validate, run)}\nthe previous files were restored`);
        log?.("validate hook passed");
    }
    if (hooks.onChange) {
        const first = await runHook(t, hooks.onChange, hooks.timeoutMs);
        if (first.ok) {
            log?.("onChange hook ran");
            return;
        }
        await undo();
        const again = await runHook(t, hooks.onChange, hooks.timeoutMs);
        throw new HookError(
            `${hookFailure(t, "onChange", hooks.onChange, first)}\n` +
                `the previous files were restored and onChange ran again: it ${again.ok ? "succeeded" : "failed too"}, ${again.outcome}`,
            true,
        );
    }
}
