import * as fs from "fs";
import { Stack } from "@pulumi/pulumi/automation";
import { assertHost, HostSnapshot, Overlay } from "./hostTree";
import { assertDestroyed } from "./trialHost";
import { alive, CliRun, descendants, killNow, markedPhases, Phase, PHASES, providerPids, recoveringUp, sleep, spawnUp, waitForPhase, waitUntil } from "./kill";
import { outputValues, TestBackend } from "./pulumi";
import { check, formatTable, yesNo } from "./trialMatrix";

/**
 * One kill trial: a `pulumi up` whose CLI or provider plugin (`pulumi-resource-delta`) is killed with
 * SIGKILL at a chosen moment, then the next `pulumi up` (no manual step on
 * the host) and a destroy, each checked against the host.
 */
export interface TrialPlan {
    index: number;
    victim: "cli" | "provider";
    /** marker: the moment the provider enters `phase`; timer: a random moment after it enters upload. */
    trigger: "marker" | "timer";
    phase: Phase;
    /** For a timer: milliseconds after the upload marker. */
    timerMs: number;
    /** create: the killed run creates the deployment; update: it updates one deployed just before. */
    op: "create" | "update";
}

export interface TrialResult extends TrialPlan {
    /** The last phase the provider had entered when it was killed; "finished" when the run ended before the kill. */
    diedIn: Phase | "after bookkeeping" | "finished" | "-";
    /** What the state folder held at the kill (staging, journal, lock). */
    hostSaw: string;
    /** After killing the CLI: milliseconds the provider took to exit by itself (false: not within 15 s; n/a when the provider was the victim). */
    providerExited: number | false | "n/a";
    cancelled: boolean;
    recovered: boolean;
    recoverMs: number;
    bytesResent: number | undefined;
    hostOk: boolean;
    restoredOk: boolean;
    error?: string;
}

/** Trials spread over phases, victims and operations; every phase gets a quarter of the marker trials. */
export function planTrials(n: number, delayMs: number, random: () => number): TrialPlan[] {
    const out: TrialPlan[] = [];
    for (let i = 0; i < n; i++) {
        const round = Math.floor(i / PHASES.length);
        out.push({
            index: i + 1,
            phase: PHASES[i % PHASES.length],
            victim: round % 2 === 0 ? "cli" : "provider",
            op: (i + round) % 2 === 0 ? "create" : "update",
            // The first eight (two per phase) always by marker; after them, one in five by a random timer.
            trigger: i >= 8 && i % 5 === 4 ? "timer" : "marker",
            timerMs: Math.round(random() * (PHASES.length * delayMs + 1500)),
        });
    }
    return out;
}

export interface TrialWorld {
    backend: TestBackend;
    stack: Stack;
    /** The host's root and the destination's place in it (for overlays). */
    host: string;
    at: string;
    stateDir: string;
    /** The destination's folder under stateDir. */
    folder: string;
    pristine: HostSnapshot;
    /** Points the program at the base (v1) or the changed (v2) tree; returns its path. */
    useSource: (version: "v1" | "v2") => Promise<string>;
    delayMs: number;
    markers: string;
}

function stateFolderNow(folder: string): string {
    try {
        const names = fs.readdirSync(folder);
        const seen = [names.some((n) => n.startsWith("staging-")) && "staging", names.includes("journal.json") && "journal", names.includes("lock") && "lock"].filter(Boolean);
        return seen.join("+") || "-";
    } catch {
        return "-";
    }
}

/** Kills the victim at the trial's moment; returns what the run had reached. */
async function killAt(w: TrialWorld, plan: TrialPlan, run: CliRun): Promise<{ diedIn: TrialResult["diedIn"]; hostSaw: string; providers: number[]; others: number[] }> {
    let ended = false;
    void run.exited.then(() => (ended = true));
    await waitForPhase(run, w.markers, plan.trigger === "marker" ? plan.phase : "upload");
    if (plan.trigger === "timer") await waitUntil(() => ended, plan.timerMs);
    const providers = providerPids(run.pid);
    const others = descendants(run.pid).filter((p) => !providers.includes(p));
    if (ended) return { diedIn: "finished", hostSaw: "-", providers, others };
    const reached = markedPhases(w.markers);
    const hostSaw = stateFolderNow(w.folder);
    // Past bookkeeping the provider has let go of the host's lock: the run is done there, and only the engine's recording is left.
    const last = reached[reached.length - 1];
    const diedIn = last === "bookkeeping" && !hostSaw.includes("lock") ? "after bookkeeping" : (last ?? "-");
    if (plan.victim === "cli") killNow(run.pid);
    else {
        if (providers.length === 0) throw new Error(`no provider process among the CLI's descendants (${descendants(run.pid).join(", ")})`);
        for (const p of providers) killNow(p);
    }
    return { diedIn, hostSaw, providers, others };
}

export async function runTrial(w: TrialWorld, plan: TrialPlan): Promise<TrialResult> {
    const result: TrialResult = { ...plan, diedIn: "-", hostSaw: "-", providerExited: "n/a", cancelled: false, recovered: false, recoverMs: 0, bytesResent: undefined, hostOk: false, restoredOk: false };
    const problems: string[] = [];
    try {
        if (plan.op === "update") {
            const base: Overlay = { at: w.at, source: await w.useSource("v1") };
            await w.stack.up();
            const bad = check(() => assertHost(w.host, w.pristine, [base], "after the base up"));
            if (bad) throw new Error(bad);
        }
        const overlay: Overlay = { at: w.at, source: await w.useSource(plan.op === "update" ? "v2" : "v1") };
        fs.rmSync(w.markers, { recursive: true, force: true });
        fs.mkdirSync(w.markers);
        const run = await spawnUp(w.backend, w.stack, { PULUMI_DELTA_PHASE_MARKER_DIR: w.markers, PULUMI_DELTA_PHASE_DELAY_MS: String(w.delayMs) });
        let killed: Awaited<ReturnType<typeof killAt>>;
        try {
            killed = await killAt(w, plan, run);
        } catch (err) {
            for (const p of [run.pid, ...descendants(run.pid)]) killNow(p);
            throw err;
        }
        result.diedIn = killed.diedIn;
        result.hostSaw = killed.hostSaw;
        if (plan.trigger === "marker" && killed.diedIn !== plan.phase) problems.push(`meant to die in ${plan.phase}, died in ${killed.diedIn}`);
        // After a provider kill the engine fails the step and exits by itself.
        if (!(await Promise.race([run.exited.then(() => true), sleep(60000).then(() => false)]))) {
            killNow(run.pid);
            problems.push("the CLI did not exit within 60 s of its provider's kill");
        }
        if (plan.victim === "cli" && killed.diedIn !== "finished") {
            const since = Date.now();
            result.providerExited = (await waitUntil(() => killed.providers.every((p) => !alive(p)), 15000)) && Date.now() - since;
            if (result.providerExited === false) problems.push(`the provider (pid ${killed.providers.join(", ")}) was still running 15 s after the engine was killed`);
        }
        // Whatever of the run is left (an orphaned provider, the language host, the program) is ours to end before the next run.
        for (const p of [...killed.providers, ...killed.others]) if (alive(p)) killNow(p);

        const started = Date.now();
        try {
            const { out, cancelled } = await recoveringUp(w.stack);
            result.cancelled = cancelled;
            result.recovered = true;
            result.recoverMs = Date.now() - started;
            // lastDelta is the last update's: when the next up changed nothing (the killed run was recorded after all), it resent nothing.
            const changed = Object.entries(out.summary.resourceChanges ?? {}).some(([op, n]) => op !== "same" && n > 0);
            const v = outputValues(out.outputs).site as { lastDelta?: { bytesSent?: number } } | undefined;
            result.bytesResent = changed ? v?.lastDelta?.bytesSent : 0;
        } catch (err) {
            result.recoverMs = Date.now() - started;
            problems.push(`the next pulumi up failed: ${(err as Error).message}`);
        }
        if (result.recovered) {
            const bad = check(() => assertHost(w.host, w.pristine, [overlay], "after the next up"));
            result.hostOk = bad === undefined;
            if (bad) problems.push(bad);
        }
        await w.stack.destroy();
        const bad = check(() => assertDestroyed(w.host, w.pristine, w.stateDir));
        result.restoredOk = bad === undefined;
        if (bad) problems.push(bad);
    } catch (err) {
        problems.push((err as Error).message);
    }
    if (problems.length) result.error = problems.join("\n");
    return result;
}

const COLUMNS = ["#", "killed", "trigger", "op", "died in", "host saw", "provider exited", "next up", "cancel", "time", "bytes resent", "host = source", "destroy = pristine"];

/** The matrix as a fixed-width table, then per-phase counts. */
export function formatMatrix(results: TrialResult[]): string {
    const rows = results.map((r) => [
        String(r.index),
        r.victim,
        r.trigger === "marker" ? `marker ${r.phase}` : `timer +${r.timerMs}ms`,
        r.op,
        r.diedIn,
        r.hostSaw,
        typeof r.providerExited === "number" ? `yes, ${(r.providerExited / 1000).toFixed(1)}s` : r.providerExited === false ? "NO" : "n/a",
        r.recovered ? "ok" : "FAILED",
        r.cancelled ? "yes" : "no",
        r.recovered ? `${(r.recoverMs / 1000).toFixed(1)}s` : "-",
        r.bytesResent === undefined ? "-" : String(r.bytesResent),
        yesNo(r.hostOk),
        yesNo(r.restoredOk),
    ]);
    const perPhase = [...PHASES, "after bookkeeping", "finished", "-"].map((p) => `${p}: ${results.filter((r) => r.diedIn === p).length}`).join(", ");
    const passed = results.filter((r) => !r.error).length;
    return formatTable(COLUMNS, rows, [`died in — ${perPhase}`, `${passed} of ${results.length} trials recovered with the host exact`]);
}
