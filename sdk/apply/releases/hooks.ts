import type { Transport } from "../../transport";
import { HookError, hookFailure, Hooks, runHook, shellQuote } from "../hooks";

/** In `validate` with `strategy: "releases"`: the shell-quoted path of the new release's folder. */
export const RELEASE = "{release}";

export function withRelease(command: string, release: string): string {
    return command.split(RELEASE).join(shellQuote(release));
}

/** validate, against the new release before `destination` points at it; throws HookError (nothing flipped yet). */
export async function validateRelease(t: Transport, hooks: Hooks, release: string): Promise<void> {
    if (!hooks.validate) return;
    const command = withRelease(hooks.validate, release);
    const run = await runHook(t, command, hooks.timeoutMs);
    if (!run.ok) throw new HookError(`${hookFailure(t, "validate", command, run)}\nthe new release ${release} was not activated; the previous one stays live`);
}

/** onChange after the flip; on failure `flipBack` runs, then onChange again, and the error carries both runs (HookError, undone). */
export async function onChangeAfterFlip(t: Transport, hooks: Hooks, flipBack: () => Promise<void>, log?: (line: string) => void): Promise<void> {
    if (!hooks.onChange) return;
    const first = await runHook(t, hooks.onChange, hooks.timeoutMs);
    if (first.ok) {
        log?.("onChange hook ran");
        return;
    }
    await flipBack();
    const again = await runHook(t, hooks.onChange, hooks.timeoutMs);
    throw new HookError(
        `${hookFailure(t, "onChange", hooks.onChange, first)}\n` +
            `destination points at the previous release again and onChange ran again: it ${again.ok ? "succeeded" : "failed too"}, ${again.outcome}`,
        true,
    );
}
