import * as fs from "fs";
import * as path from "path";

/** The moments of a deployment at which a killed run leaves different things behind. */
export type Phase = "upload" | "journal" | "commit" | "bookkeeping";

export const PHASE_MARKER_DIR_ENV = "PULUMI_DELTA_PHASE_MARKER_DIR";
export const PHASE_DELAY_ENV = "PULUMI_DELTA_PHASE_DELAY_MS";

/**
 * For fault-injection tests of recovery: with `PULUMI_DELTA_PHASE_MARKER_DIR`
 * set, entering a phase creates `<dir>/<phase>` on the runner, and
 * `PULUMI_DELTA_PHASE_DELAY_MS` holds the phase open that long, so a test
 * can kill the run inside it. Without them, nothing happens.
 */
export async function enterPhase(phase: Phase, env: NodeJS.ProcessEnv = process.env): Promise<void> {
    const dir = env[PHASE_MARKER_DIR_ENV];
    if (dir) {
        try {
            fs.writeFileSync(path.join(dir, phase), `${process.pid}\n`, { flag: "a" });
        } catch {
            // A marker is a test aid; a missing folder must not fail a deployment.
        }
    }
    const ms = Number(env[PHASE_DELAY_ENV] ?? 0);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}
