import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { assertHost, assertRestored, HostSnapshot, hostSnapshot, Overlay, stateLeftovers } from "./hostTree";
import { markedPhases, Phase, PHASES, recoveringUp } from "./kill";
import { CutEvent, CutHow, FaultRelay } from "./faultRelay";
import { collector, outputValues } from "./pulumi";

/**
 * One network-fault trial: a `pulumi up` whose SSH connection the relay cuts
 * after N bytes, then checks that it failed with an error, that no file the
 * host had before is lost, that the next `pulumi up` through a healthy
 * connection converges (host = source byte for byte) and that destroy gives
 * back the pre-deployment tree. `strategy` is a parameter so that
 * `releases` can join later; only `inPlace` runs today.
 */
export type Strategy = "inPlace";

/** Where a plan aims its cut: before the upload (dial, lock, ledger, journal), or inside a phase. */
export type Aim = "connect" | Phase;
export const AIMS: Aim[] = ["connect", ...PHASES];

export interface FaultPlan {
    index: number;
    op: "create" | "update";
    strategy: Strategy;
    aim: Aim;
    /** Where in the aim's byte range the cut falls, 0 ≤ u < 1 (drawn when planned, before the byte ranges are measured). */
    u: number;
    how: CutHow;
}

/** A healthy run's bytes through the relay: in all, and when each phase began. */
export interface ByteProfile {
    total: number;
    at: Partial<Record<Phase, number>>;
}

export interface Calibration {
    create: ByteProfile;
    update: ByteProfile;
}

/** The byte range an aim covers in a profile; the whole run when the profile lacks the phases. */
export function aimRange(p: ByteProfile, aim: Aim): [number, number] {
    const starts = [1, ...PHASES.map((ph) => p.at[ph])];
    const i = AIMS.indexOf(aim);
    const from = starts[i];
    const to = i + 1 < starts.length ? starts[i + 1] : p.total;
    if (from === undefined || to === undefined || to <= from) return [1, Math.max(2, p.total)];
    return [from, to];
}

/** Bytes (both directions) the relay lets through before it cuts: N, within the aim's range of the measured run. */
export function cutAfter(plan: FaultPlan, cal: Calibration): number {
    const [from, to] = aimRange(cal[plan.op], plan.aim);
    return from + Math.floor(plan.u * (to - from));
}

/** Trials spread over aims, operations and cut kinds; where each cut falls within its aim's byte range is random. */
export function planFaultTrials(n: number, random: () => number, strategy: Strategy = "inPlace"): FaultPlan[] {
    const out: FaultPlan[] = [];
    for (let i = 0; i < n; i++) {
        const aim = AIMS[i % AIMS.length];
        // Each round of aims swaps the operations, so every aim gets creates and updates alike.
        const op = ((i % AIMS.length) + Math.floor(i / AIMS.length)) % 2 === 0 ? "create" : "update";
        out.push({ index: i + 1, op, strategy, aim, u: random(), how: Math.floor(i / 2) % 2 === 0 ? "reset" : "close" });
    }
    return out;
}

export interface FaultResult extends FaultPlan {
    cutAfter: number;
    /** Whether the relay cut (a run may need fewer bytes than the plan allowed). A cut in bookkeeping, after the host committed, may leave the up succeeding. */
    cut: boolean;
    /** The last phase the provider had entered at the cut ("connect" before the upload). */
    cutIn: Aim | "not cut";
    upFailed: boolean;
    /** The error the failed `pulumi up` showed under the resource. */
    shown: string;
    /** Files the host had before that were neither on the host nor kept aside after the failed up. */
    lost: string[];
    recovered: boolean;
    recoverMs: number;
    bytesResent: number | undefined;
    hostOk: boolean;
    restoredOk: boolean;
    error?: string;
}

export interface FaultWorld {
    stack: Stack;
    relay: FaultRelay;
    /** The host's root and the destination's place in it. */
    host: string;
    at: string;
    stateDir: string;
    /** The destination's folder under stateDir. */
    folder: string;
    pristine: HostSnapshot;
    /** Points the program at v1 or v2; returns its path. */
    useSource: (version: "v1" | "v2") => Promise<string>;
    /** The provider's phase markers (PULUMI_DELTA_PHASE_MARKER_DIR of the stack's engine). */
    markers: string;
}

function check(fn: () => void): string | undefined {
    try {
        fn();
        return undefined;
    } catch (err) {
        return (err as Error).message;
    }
}

function resetMarkers(dir: string): void {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
}

/** A healthy run's profile: bytes in all, and the count at which each phase's marker first appeared. */
export async function profileRun(w: FaultWorld, run: () => Promise<unknown>): Promise<ByteProfile> {
    resetMarkers(w.markers);
    w.relay.heal();
    const at: Partial<Record<Phase, number>> = {};
    w.relay.onBytes((n) => {
        for (const ph of PHASES) if (at[ph] === undefined && fs.existsSync(path.join(w.markers, ph))) at[ph] = n;
    });
    try {
        await run();
    } finally {
        w.relay.onBytes(undefined);
    }
    return { total: w.relay.state().bytes, at };
}

/** The engine's error for the resource: the first `error:` line that is not the summary. */
export function shownError(text: string): string {
    const lines = text.split("\n").map((l) => l.trim());
    const line = lines.find((l) => /^error: /.test(l) && !/^error: (update failed|preview failed)/.test(l)) ?? lines.find((l) => /error/i.test(l)) ?? "";
    return line.replace(/^error: /, "");
}

/**
 * Every file the host had before the deployments that is neither where it
 * was (same content) nor kept aside under `originals/` — what a fault must
 * never cause. Deployed paths may hold a deployed version meanwhile.
 */
export function lostFiles(w: FaultWorld): string[] {
    const now = hostSnapshot(w.host);
    const kept = hostSnapshot(path.join(w.folder, "originals"));
    const lost: string[] = [];
    for (const [p, e] of Object.entries(w.pristine)) {
        if (e.kind !== "file") continue;
        if (now[p]?.sha256 === e.sha256) continue;
        const inDest = p.startsWith(`${w.at}/`) ? p.slice(w.at.length + 1) : undefined;
        if (inDest !== undefined && kept[inDest]?.sha256 === e.sha256) continue;
        lost.push(p);
    }
    return lost;
}

export async function runFaultTrial(w: FaultWorld, plan: FaultPlan, cal: Calibration): Promise<FaultResult> {
    const result: FaultResult = { ...plan, cutAfter: cutAfter(plan, cal), cut: false, cutIn: "not cut", upFailed: false, shown: "", lost: [], recovered: false, recoverMs: 0, bytesResent: undefined, hostOk: false, restoredOk: false };
    const problems: string[] = [];
    try {
        w.relay.heal();
        if (plan.op === "update") {
            const base: Overlay = { at: w.at, source: await w.useSource("v1") };
            await w.stack.up();
            const bad = check(() => assertHost(w.host, w.pristine, [base], "after the base up"));
            if (bad) throw new Error(bad);
        }
        const overlay: Overlay = { at: w.at, source: await w.useSource(plan.op === "update" ? "v2" : "v1") };
        resetMarkers(w.markers);
        let cutIn: Aim | undefined;
        w.relay.armCut(result.cutAfter, plan.how, (_e: CutEvent) => {
            const reached = markedPhases(w.markers);
            cutIn = reached[reached.length - 1] ?? "connect";
        });
        const out = collector();
        try {
            await w.stack.up({ onOutput: out.onOutput });
        } catch (err) {
            result.upFailed = true;
            result.shown = shownError(`${out.text()}\n${(err as Error).message}`);
        }
        result.cut = w.relay.state().cut !== undefined;
        result.cutIn = cutIn ?? "not cut";
        // Past the commit (bookkeeping) only best-effort clean-up is left: the host holds the whole new tree, so the up may succeed.
        if (result.cut && !result.upFailed && result.cutIn !== "bookkeeping") problems.push(`the connection was cut after ${result.cutAfter} bytes (in ${result.cutIn}), yet pulumi up succeeded`);
        if (result.upFailed && !result.cut) problems.push(`pulumi up failed without a cut: ${result.shown}`);
        result.lost = lostFiles(w);
        if (result.lost.length) problems.push(`after the failed up, files the host had are lost: ${result.lost.join(", ")}`);

        w.relay.heal();
        const started = Date.now();
        try {
            const { out: next } = await recoveringUp(w.stack);
            result.recovered = true;
            result.recoverMs = Date.now() - started;
            const changed = Object.entries(next.summary.resourceChanges ?? {}).some(([op, n]) => op !== "same" && n > 0);
            const delta = outputValues(next.outputs).lastDelta as { bytesSent?: number } | undefined;
            result.bytesResent = changed ? delta?.bytesSent : 0;
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
        const bad = check(() => {
            assertRestored(w.host, w.pristine, "after destroy");
            const left = stateLeftovers(w.stateDir);
            if (left.length) throw new Error(`after destroy, stateDir still holds ${left.join(", ")}`);
        });
        result.restoredOk = bad === undefined;
        if (bad) problems.push(bad);
    } catch (err) {
        problems.push((err as Error).message);
    }
    if (problems.length) result.error = problems.join("\n");
    return result;
}

const COLUMNS = ["#", "strategy", "op", "cut after (bytes)", "aimed at", "cut in", "how", "up failed", "error shown", "lost", "next up", "time", "bytes resent", "host = source", "destroy = pristine"];

/** The matrix as a fixed-width table, then counts. */
export function formatFaultMatrix(results: FaultResult[], work: string, errorWidth = 110): string {
    const short = (text: string) => {
        // The trial's temporary folder says nothing; what follows it does.
        const s = text.split(work).join("…");
        return s.length > errorWidth ? `${s.slice(0, errorWidth - 1)}…` : s;
    };
    const rows = results.map((r) => [
        String(r.index),
        r.strategy,
        r.op,
        String(r.cutAfter),
        r.aim,
        r.cutIn,
        r.how,
        r.upFailed ? "yes" : r.cut ? "no (committed)" : "no",
        short(r.shown || "-"),
        r.lost.length ? `${r.lost.length} LOST` : "none",
        r.recovered ? "ok" : "FAILED",
        r.recovered ? `${(r.recoverMs / 1000).toFixed(1)}s` : "-",
        r.bytesResent === undefined ? "-" : String(r.bytesResent),
        r.hostOk ? "yes" : "NO",
        r.restoredOk ? "yes" : "NO",
    ]);
    const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    const perPhase = [...AIMS, "not cut"].map((p) => `${p}: ${results.filter((r) => r.cutIn === p).length}`).join(", ");
    const passed = results.filter((r) => !r.error).length;
    return [line(COLUMNS), line(widths.map((n) => "-".repeat(n))), ...rows.map(line), "", `cut in — ${perPhase}`, `${passed} of ${results.length} trials: failed up, nothing lost, next up converged, destroy pristine`].join("\n");
}
