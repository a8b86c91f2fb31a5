import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { HostSnapshot } from "./hostTree";
import { assertDestroyed } from "./trialHost";
import { markedPhases, Phase, PHASES, recoveringUp } from "./kill";
import { CutEvent, CutHow, FaultRelay } from "./faultRelay";
import { collector, outputValues } from "./pulumi";
import { assertDeployed, lostFiles, Strategy } from "./strategyChecks";
import { ReaderSummary, TreeReader } from "./treeReader";
import { check, formatTable, yesNo } from "./trialMatrix";

export { Strategy } from "./strategyChecks";

/**
 * One network-fault trial: a `pulumi up` whose SSH connection the relay cuts
 * after N bytes, then checks that it failed with an error, that no file the
 * host had before is lost, that the next `pulumi up` through a healthy
 * connection converges (host = source byte for byte) and that destroy gives
 * back the pre-deployment tree. With `releases`, a reader on its own
 * thread reads `destination` all through the failed up, the next up and
 * the destroy, and must only ever find a complete known tree (the one
 * before, the one deployed, or — around a first release or destroy — the
 * original folder and, for one rename, nothing).
 */

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

/**
 * Where the cut falls. Aimed at connect: N bytes from the start, within the
 * range a healthy run took to its first phase. Aimed at a phase: N bytes
 * after the provider enters it (its marker appears), within the length the
 * healthy run's phase had — counted from the marker, not from the start,
 * because SSH's random padding shifts a run's byte counts by a few hundred
 * bytes, more than the journal and commit phases are long.
 */
export function cutPoint(plan: FaultPlan, cal: Calibration): { from: Aim; after: number } {
    const [from, to] = aimRange(cal[plan.op], plan.aim);
    const span = Math.max(1, to - from);
    return plan.aim === "connect" ? { from: "connect", after: from + Math.floor(plan.u * span) } : { from: plan.aim, after: Math.floor(plan.u * span) };
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
    /** Bytes through the relay (both directions, from the start) when it cut; the planned count when it did not. */
    cutAfter: number;
    /** The planned cut: bytes after the phase's marker (or from the start, for connect). */
    planned: number;
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
    /** releases: what the reader of destination saw from the failed up to the end of destroy. */
    reader?: ReaderSummary;
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
    strategy: Strategy;
    /** The destination's absolute path (what the reader reads). */
    destination: string;
    /** The trees a reader may meet, by treeDigest: the folder at destination before any deployment, v1, v2. */
    trees: Record<"original" | "v1" | "v2", string>;
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

/** What the ups of a trial may show at destination: the tree before and the one deployed; a first release over a folder leaves destination absent for one rename, every later flip is one rename. */
function upsMayShow(op: FaultPlan["op"]): { names: string[]; absent: boolean } {
    return op === "create" ? { names: ["original", "v1"], absent: true } : { names: ["v1", "v2"], absent: false };
}

export async function runFaultTrial(w: FaultWorld, plan: FaultPlan, cal: Calibration): Promise<FaultResult> {
    const point = cutPoint(plan, cal);
    const result: FaultResult = { ...plan, cutAfter: point.after, planned: point.after, cut: false, cutIn: "not cut", upFailed: false, shown: "", lost: [], recovered: false, recoverMs: 0, bytesResent: undefined, hostOk: false, restoredOk: false };
    const problems: string[] = [];
    let reader: TreeReader | undefined;
    try {
        w.relay.heal();
        if (plan.op === "update") {
            const base = await w.useSource("v1");
            await w.stack.up();
            const bad = check(() => assertDeployed(w, w.strategy, base, "after the base up"));
            if (bad) throw new Error(bad);
        }
        const source = await w.useSource(plan.op === "update" ? "v2" : "v1");
        resetMarkers(w.markers);
        let cutIn: Aim | undefined;
        let aimed = point.from === "connect";
        w.relay.armCut(aimed ? point.after : Number.MAX_SAFE_INTEGER, plan.how, (_e: CutEvent) => {
            const reached = markedPhases(w.markers);
            cutIn = reached[reached.length - 1] ?? "connect";
        });
        if (!aimed) {
            const marker = path.join(w.markers, point.from);
            w.relay.onBytes((n) => {
                if (aimed || !fs.existsSync(marker)) return;
                aimed = true;
                w.relay.moveCut(n + point.after);
            });
        }
        if (w.strategy === "releases") reader = TreeReader.start(w.destination, w.trees, { stage: "the cut up", ...upsMayShow(plan.op) });
        const out = collector();
        try {
            await w.stack.up({ onOutput: out.onOutput });
        } catch (err) {
            result.upFailed = true;
            result.shown = shownError(`${out.text()}\n${(err as Error).message}`);
        }
        w.relay.onBytes(undefined);
        const cut = w.relay.state().cut;
        result.cut = cut !== undefined;
        if (cut) result.cutAfter = cut.bytes;
        result.cutIn = cutIn ?? "not cut";
        // Past the commit (bookkeeping) only best-effort clean-up is left: the host holds the whole new tree, so the up may succeed.
        if (result.cut && !result.upFailed && result.cutIn !== "bookkeeping") problems.push(`the connection was cut after ${result.cutAfter} bytes (in ${result.cutIn}), yet pulumi up succeeded`);
        if (result.upFailed && !result.cut) problems.push(`pulumi up failed without a cut: ${result.shown}`);
        result.lost = lostFiles(w, w.strategy);
        if (result.lost.length) problems.push(`after the failed up, files the host had are lost: ${result.lost.join(", ")}`);

        w.relay.heal();
        reader?.allow({ stage: "the next up", ...upsMayShow(plan.op) });
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
            const bad = check(() => assertDeployed(w, w.strategy, source, "after the next up"));
            result.hostOk = bad === undefined;
            if (bad) problems.push(bad);
        }
        // Destroy puts the original folder back: destination is absent for one rename there too.
        reader?.allow({ stage: "destroy", names: [plan.op === "create" ? "v1" : "v2", "original"], absent: true });
        await w.stack.destroy();
        const bad = check(() => assertDestroyed(w.host, w.pristine, w.stateDir));
        result.restoredOk = bad === undefined;
        if (bad) problems.push(bad);
    } catch (err) {
        problems.push((err as Error).message);
    }
    if (reader) {
        result.reader = await reader.stop();
        if (result.reader.bad) problems.push(`the reader of destination saw what it must not in ${result.reader.bad} of ${result.reader.reads} reads, first:\n${result.reader.violations.join("\n")}`);
    }
    if (problems.length) result.error = problems.join("\n");
    return result;
}

/** The reader's counts in a cell, per stage: "cut up v1 310 / v2 95 · next up … · destroy …", reads destination moved under, bad reads. */
function readerCell(r: ReaderSummary | undefined): string {
    if (!r) return "-";
    const stages = Object.entries(r.seen).map(([stage, seen]) => `${stage.replace(/^the /, "")} ${Object.entries(seen).map(([k, n]) => `${k} ${n}`).join(" / ")}`);
    return `${stages.join(" · ")}${r.moved ? ` (+${r.moved} moved)` : ""}${r.bad ? ` ${r.bad} BAD` : ""}`;
}

/** Reads of the ups (not the destroy) in update trials: those must all be v1 or v2, destination never absent. */
function updateReads(results: FaultResult[]): { reads: number; absent: number } {
    let reads = 0;
    let absent = 0;
    for (const r of results) {
        if (r.op !== "update" || !r.reader) continue;
        for (const [stage, seen] of Object.entries(r.reader.seen)) {
            if (stage === "destroy") continue;
            for (const [k, n] of Object.entries(seen)) {
                reads += n;
                if (k === "absent") absent += n;
            }
        }
    }
    return { reads, absent };
}

const COLUMNS = ["#", "strategy", "op", "cut after (bytes)", "aimed at (+bytes)", "cut in", "how", "up failed", "error shown", "lost", "next up", "time", "bytes resent", "host = source", "destroy = pristine", "reader of destination"];

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
        r.cut ? String(r.cutAfter) : "-",
        r.aim === "connect" ? `connect (${r.planned})` : `${r.aim} +${r.planned}`,
        r.cutIn,
        r.how,
        r.upFailed ? "yes" : r.cut ? "no (committed)" : "no",
        short(r.shown || "-"),
        r.lost.length ? `${r.lost.length} LOST` : "none",
        r.recovered ? "ok" : "FAILED",
        r.recovered ? `${(r.recoverMs / 1000).toFixed(1)}s` : "-",
        r.bytesResent === undefined ? "-" : String(r.bytesResent),
        yesNo(r.hostOk),
        yesNo(r.restoredOk),
        readerCell(r.reader),
    ]);
    const perPhase = [...AIMS, "not cut"].map((p) => `${p}: ${results.filter((r) => r.cutIn === p).length}`).join(", ");
    const passed = results.filter((r) => !r.error).length;
    const read = results.filter((r) => r.reader);
    const footer = [`cut in — ${perPhase}`];
    if (read.length) {
        const reads = read.reduce((n, r) => n + r.reader!.reads, 0);
        const bad = read.reduce((n, r) => n + r.reader!.bad, 0);
        const u = updateReads(read);
        footer.push(`reader of destination: ${reads} reads in ${read.length} trials, each a complete known tree or an allowed absence; ${bad} saw anything else`);
        footer.push(`  in the updates' cut and next ups: ${u.reads} reads, each v1 or v2 whole; destination absent in ${u.absent}`);
    }
    footer.push(`${passed} of ${results.length} trials: failed up, nothing lost, next up converged, destroy pristine${read.length ? ", the reader never saw a mixed or missing tree" : ""}`);
    return formatTable(COLUMNS, rows, footer);
}
