import type { Manifest } from "./types";

/**
 * The mass-deletion guard: whether an update may remove what it would
 * remove. Pure: the plugin's Diff calls it with the deployed manifest (from
 * state) and the new one, so a preview on a fresh runner refuses before
 * `pulumi up` touches a host.
 *
 * Two rules. An update that would remove every deployed file and add none
 * (an empty or mistyped `source`, a build that produced nothing, an
 * `exclude` that excludes everything) is refused unless `allowEmptySource`
 * is true. `maxDelete` — a count, or a percentage of the deployed files —
 * refuses any larger removal; it has no default (no limit but the first
 * rule). The two are independent: `allowEmptySource` lifts only the first.
 */

/** `maxDelete` as parsed: a number of files, or a percentage of the deployed files. */
export type DeleteLimit = { kind: "count"; files: number } | { kind: "percent"; percent: number };

const PERCENT = /^(\d+(?:\.\d+)?)%$/;

const show = (v: unknown) => JSON.stringify(v);

/** `maxDelete` parsed, or the reason it cannot be (naming the input, the value and the fix). */
export function parseMaxDelete(v: unknown): { limit: DeleteLimit } | { problem: string } {
    const fix = `give a whole number of files such as 50, or a percentage of the deployed files such as "10%"; omit it for no limit`;
    if (typeof v === "number") {
        if (Number.isInteger(v) && v >= 0) return { limit: { kind: "count", files: v } };
        return { problem: `maxDelete must be a whole number of files, 0 or more, got ${show(v)}; ${fix}` };
    }
    if (typeof v === "string") {
        const m = PERCENT.exec(v.trim());
        if (!m) return { problem: `maxDelete ${show(v)} is neither a number of files nor a percentage ending in "%"; ${fix}` };
        const percent = Number(m[1]);
        if (percent > 100) return { problem: `maxDelete ${show(v)} is more than "100%" of the deployed files; ${fix}` };
        return { limit: { kind: "percent", percent } };
    }
    return { problem: `maxDelete must be a number of files or a percentage string, got ${show(v)}; ${fix}` };
}

/** The number of files a limit allows out of `deployed` (a percentage rounds down: "10%" of 15 files allows 1). */
export function allowedRemovals(limit: DeleteLimit, deployed: number): number {
    return limit.kind === "count" ? limit.files : Math.floor((limit.percent * deployed) / 100 + 1e-9);
}

export interface DeletionPlan {
    /** Files the last deployment left (the deployed manifest in state). */
    deployed: number;
    /** Deployed paths the new manifest no longer has. */
    removed: number;
    /** Paths of the new manifest the deployment lacks. */
    added: number;
    /** Files of the new manifest. */
    next: number;
}

/**
 * What the update removes (files and symlinks; folders are not counted),
 * judged on the deployed manifest as recorded in state: by path, so a replace (new destination, host or stateDir) counts
 * only files the new deployment no longer has, and drift that refresh found
 * does not change what counts as deployed.
 */
export function deletionPlan(deployed: Manifest, next: Manifest): DeletionPlan {
    if (deployed.kind === "file" && next.kind === "file" && deployed.entries.size === 1 && next.entries.size === 1) {
        return { deployed: 1, removed: 0, added: 0, next: 1 };
    }
    // Files and symlinks count; folder entries do not: a source left with only empty folders is empty.
    const counted = (m: Manifest) => [...m.entries].filter(([, e]) => e.type !== "dir").map(([p]) => p);
    const before = counted(deployed);
    const after = counted(next);
    const removed = before.filter((p) => !next.entries.has(p) || next.entries.get(p)!.type === "dir").length;
    const added = after.filter((p) => !deployed.entries.has(p) || deployed.entries.get(p)!.type === "dir").length;
    return { deployed: before.length, removed, added, next: after.length };
}

export interface GuardSettings {
    /** Already validated (see {@link parseMaxDelete}); undefined for no limit. */
    maxDelete?: number | string;
    allowEmptySource?: boolean;
}

export interface GuardContext {
    /** The resource's name. */
    name: string;
    /** `source` as the user wrote it. */
    source: string;
    exclude?: readonly string[];
    /** Where the files are: `user@host:port:/path`. */
    target: string;
}

const files = (n: number) => `${n} file${n === 1 ? "" : "s"}`;

/** Why the update must not run, or undefined when the guard lets it through. */
export function deletionRefusal(plan: DeletionPlan, settings: GuardSettings, ctx: GuardContext): string | undefined {
    if (plan.removed === 0) return undefined;
    const source = `source ${show(ctx.source)}`;
    const excluded = ctx.exclude && ctx.exclude.length ? ` once exclude ${show(ctx.exclude)} applies` : "";
    if (plan.next === 0 && plan.removed === plan.deployed && settings.allowEmptySource !== true) {
        return (
            `refused: this update of ${ctx.name} would remove all ${files(plan.deployed)} deployed to ${ctx.target} and add none, ` +
            `because ${source} holds no files${excluded}. If the build produced nothing or the path is mistyped, fix source (or exclude); ` +
            `to empty the deployment on purpose, set allowEmptySource: true (or destroy the resource)`
        );
    }
    if (settings.maxDelete === undefined || settings.maxDelete === null) return undefined;
    const parsed = parseMaxDelete(settings.maxDelete);
    if ("problem" in parsed) return parsed.problem;
    const allowed = allowedRemovals(parsed.limit, plan.deployed);
    if (plan.removed <= allowed) return undefined;
    const share = ((plan.removed * 100) / plan.deployed).toFixed(plan.removed * 100 < plan.deployed ? 1 : 0);
    const limit = parsed.limit.kind === "count" ? `maxDelete ${parsed.limit.files}` : `maxDelete ${show(settings.maxDelete)} (${files(allowed)} of ${plan.deployed})`;
    return (
        `refused: this update of ${ctx.name} would remove ${plan.removed} of the ${files(plan.deployed)} deployed to ${ctx.target} (${share}%), ` +
        `more than ${limit} allows; check ${source}${excluded ? ` and exclude ${show(ctx.exclude)}` : ""}. ` +
        `If the removal is intended, raise maxDelete (or remove it) for this update`
    );
}
