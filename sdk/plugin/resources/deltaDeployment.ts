import { isUnknown } from "../../connection";
import * as manifest from "../../manifest";
import * as lifecycle from "../../providers/deltaDeploymentLifecycle";
import { validateInputs } from "../../providers/deltaDeploymentInputs";
import * as apply from "../../apply";
import { DEFAULT_KEEP_RELEASES, describeDestinationProblem, detectReleaseDrift } from "../../apply/releases";
import { containsUnknown, PlainObject, UNKNOWN } from "../server/codec";
import { applyDrift, driftFrom, driftNote, driftedPaths, filesWithDrift, readDrift } from "./deltaDeploymentDrift";
import {
    absoluteSource,
    CHECKED,
    COMPUTED,
    DEFAULT_DIFF_FILE_LIMIT,
    fromLegacyOutputs,
    manifestOf,
    manifestProps,
    SECRET_PATHS,
    sourceWalks,
    str,
    toLegacy,
    toLegacyOutputs,
} from "./deltaDeploymentProps";
import type { CheckFailure, DiffResult, PropertyDiffKind, ResourceContext, ResourceLifecycle } from "./types";

/** Settings whose change is an update of the resource even when no file changes. */
const SETTINGS = ["source", "exclude", "onDestroy", "connection", "validate", "onChange", "hookTimeout", "become", "owner", "group", "takeOverFrom", "diffFileLimit", "strategy", "keepReleases", "symlinks", "preserveMtimes"] as const;

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Inputs added after state existed: absent in old state means their default, so stating the default is no change. */
const DEFAULTS: Partial<Record<(typeof SETTINGS)[number], unknown>> = { strategy: "inPlace", keepReleases: DEFAULT_KEEP_RELEASES };

function withDefault(k: (typeof SETTINGS)[number], v: unknown): unknown {
    return v === undefined || v === null ? (DEFAULTS[k] ?? v) : v;
}

/** `files["a/b.txt"]`: the property path the engine prints for one file. */
export function fileKey(p: string): string {
    return `files[${JSON.stringify(p)}]`;
}

function check(ctx: ResourceContext, olds: PlainObject, news: PlainObject): { inputs: PlainObject; failures: CheckFailure[] } {
    const inputs: PlainObject = { ...news };
    for (const k of [...CHECKED, ...COMPUTED]) delete inputs[k];
    if (inputs.onDestroy === undefined || inputs.onDestroy === null) inputs.onDestroy = "restore";
    const failures: CheckFailure[] = [];
    const limit = news.diffFileLimit ?? DEFAULT_DIFF_FILE_LIMIT;
    if (!isUnknown(limit) && (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0)) {
        failures.push({ property: "diffFileLimit", reason: `diffFileLimit must be a whole number of files (0 or more), got ${JSON.stringify(limit)}` });
    }
    const source = str(news.source);
    const exclude = news.exclude ?? [];
    let built: manifest.Manifest | undefined;
    const symlinks = news.symlinks;
    if (source === undefined || isUnknown(source) || containsUnknown(exclude) || isUnknown(limit) || isUnknown(symlinks)) {
        // Known during the update: the manifest is made then, and the preview says the files are not known yet.
        for (const k of CHECKED) inputs[k] = UNKNOWN;
    } else if (source !== "") {
        try {
            const walksBefore = sourceWalks();
            const started = Date.now();
            // An invalid value is reported by validateInputs below; the walk then refuses nothing it would not.
            const policy = typeof symlinks === "string" && (manifest.SYMLINK_POLICIES as readonly string[]).includes(symlinks) ? (symlinks as manifest.SymlinkPolicy) : undefined;
            const m = (built = manifestOf(absoluteSource(source), exclude as string[], policy));
            const walked = Date.now();
            Object.assign(inputs, manifestProps(m, typeof limit === "number" ? limit : DEFAULT_DIFF_FILE_LIMIT));
            // At debug severity (shown with --debug, and in the event stream): a fleet's hosts share one walk per run.
            if (sourceWalks() > walksBefore) {
                ctx.log(`walked and hashed ${absoluteSource(source)}: ${m.entries.size} files in ${walked - started} ms, manifest digested and kept in ${Date.now() - walked} ms (walk ${sourceWalks()} of this run)`, "debug");
            }
            inputs.kind = m.kind;
        } catch (err) {
            failures.push({ property: "source", reason: (err as Error).message });
        }
    }
    const legacy = toLegacy(ctx, inputs);
    for (const f of validateInputs(legacy)) if (!(f.property === "source" && failures.some((x) => x.property === "source"))) failures.push(f);
    if (!failures.length && Object.keys(olds).length === 0 && built) {
        // A create gets no Diff call: the first delta is listed here.
        ctx.log(manifest.formatDelta(ctx.name, lifecycle.where(legacy), manifest.diffManifests(undefined, built)));
    }
    return { inputs, failures };
}

/**
 * The mass-deletion guard, in Diff so that `pulumi preview` (and the plan of
 * `pulumi up`) fails before anything runs on the host. Judged on the deployed
 * manifest from state, not on drift: files refresh found gone still count.
 */
function refuseMassDeletion(ctx: ResourceContext, deployed: manifest.Manifest, newL: ReturnType<typeof toLegacy>, news: PlainObject, next: manifest.Manifest): void {
    // Not known until an Output resolves: the up's own Diff judges it then, before Update runs.
    if (isUnknown(newL.maxDelete) || isUnknown(newL.allowEmptySource)) return;
    const plan = manifest.deletionPlan(deployed, next);
    const refusal = manifest.deletionRefusal(plan, newL, { name: ctx.name, source: str(news.source) ?? "", exclude: newL.exclude ?? [], target: lifecycle.where(newL) });
    if (refusal) throw new Error(refusal);
}

function diff(ctx: ResourceContext, olds: PlainObject, news: PlainObject): DiffResult {
    const oldL = toLegacyOutputs(ctx, olds);
    const newL = toLegacy(ctx, news);
    const replaces = lifecycle.REPLACING.filter(([, get]) => !same(get(oldL as unknown as typeof newL), get(newL))).map(([name]) => name);
    const detailedDiff: Record<string, PropertyDiffKind> = {};
    for (const r of replaces) detailedDiff[r] = "update-replace";
    const settings = SETTINGS.filter((k) => !same(withDefault(k, olds[k]), withDefault(k, news[k])) && !replaces.includes(k));
    for (const k of settings) detailedDiff[k] = "update";
    if (isUnknown(news.manifestDigest)) {
        detailedDiff.manifestDigest = "update";
        return { changes: true, replaces, deleteBeforeReplace: replaces.length > 0, detailedDiff };
    }
    const drift = readDrift(olds);
    // strategy "releases": destination no longer the link to the live release is a change even when no file is.
    const linkDrift = drift?.destination !== undefined;
    if (linkDrift) {
        ctx.log(`${ctx.name}: ${describeDestinationProblem(newL.destination, drift!.destination!)} (pulumi refresh)`, "warning");
        detailedDiff.drift = "update";
    }
    let filesChange = false;
    if (news.manifestDigest !== olds.manifestDigest || replaces.length || drift) {
        const deployed = manifest.decodeManifest(oldL.deployed);
        const previous = applyDrift(deployed, drift);
        const next = lifecycle.newManifest(newL, false);
        const delta = manifest.diffManifests(previous.kind === next.kind ? previous : undefined, next);
        filesChange = !manifest.deltaIsEmpty(delta);
        if (filesChange || replaces.length) {
            const [heading, ...paths] = manifest.formatDelta(ctx.name, lifecycle.where(newL), delta).split("\n");
            ctx.log([heading + rollbackNote(olds, news), ...paths].join("\n") + driftNote(drift, delta));
        }
        // After the delta's listing, so a refused preview still shows what it would have removed.
        refuseMassDeletion(ctx, deployed, newL, news, next);
        if (news.files !== undefined) {
            for (const p of delta.added) detailedDiff[fileKey(p)] = replaces.length ? "add-replace" : "add";
            for (const p of delta.changed) detailedDiff[fileKey(p)] = replaces.length ? "update-replace" : "update";
            for (const p of delta.removed) detailedDiff[fileKey(p)] = replaces.length ? "delete-replace" : "delete";
        } else if (filesChange) {
            // Above diffFileLimit the files are not properties: the list above names them, the digest marks the change.
            detailedDiff.manifestDigest = "update";
        }
    }
    return { changes: filesChange || linkDrift || replaces.length > 0 || settings.length > 0, replaces, deleteBeforeReplace: replaces.length > 0, detailedDiff };
}

/**
 * With strategy "releases", a manifest whose release the host still keeps
 * goes live again by a flip alone: the preview says so (from the outputs,
 * which list the kept releases, so no network).
 */
export function rollbackNote(olds: PlainObject, news: PlainObject): string {
    if (news.strategy !== "releases" || olds.strategy !== "releases" || !Array.isArray(olds.keptReleases)) return "";
    // The live release's own manifest: what changes is drift, which a new release repairs.
    if (news.manifestDigest === olds.manifestDigest) return "";
    if (!same(olds.owner, news.owner) || !same(olds.group, news.group)) return "";
    const kept = (olds.keptReleases as PlainObject[]).find((r) => r && r.digest === news.manifestDigest);
    if (!kept) return "";
    // Drift in the live release may have reached the kept one through a shared hard link: the up checks it before flipping.
    const caveat = readDrift(olds)?.changed.length ? "; unless the files changed on the host reached it through shared hard links, which up checks first" : "";
    return ` (rollback to kept release ${String(kept.id)}: no file bytes sent, only the link flips${caveat})`;
}

/**
 * Refresh: what the host holds of what was deployed. A stat of each deployed
 * file against the size and mtime the ledger recorded at the last commit, a
 * hash on the host only where they differ. What changed is recorded in the
 * outputs, so the next preview names it and the next up rewrites it.
 */
async function readHost(ctx: ResourceContext, outputs: PlainObject): Promise<PlainObject> {
    if (typeof outputs.deployed !== "string" || outputs.deployed === "") return outputs;
    const legacy = toLegacyOutputs(ctx, outputs);
    const deployed = manifest.decodeManifest(legacy.deployed);
    const request = {
        destination: legacy.destination,
        stateDir: legacy.stateDir,
        identity: lifecycle.instanceOf(legacy),
        fileName: deployed.kind === "file" ? [...deployed.entries.keys()][0] : undefined,
    };
    // A release's live tree is its folder under the releases root, checked against the release's manifest; destination must be the link to it.
    const releases = outputs.strategy === "releases";
    const found: apply.DriftResult & { destination?: string; liveFolder?: string } = await lifecycle.withTransport(legacy, (t) => (releases ? detectReleaseDrift(t, request) : apply.detectDrift(t, request)));
    if (!found.known) {
        const what = releases ? "the host has no live release of this deployment" : "the host's ledger does not know this deployment";
        ctx.log(`${ctx.name}: ${what} (instance ${lifecycle.instanceOf(legacy)}); nothing checked`, "warning");
        return outputs;
    }
    if (!found.settled) {
        ctx.log(`${ctx.name}: a deployment of ${lifecycle.where(legacy)} is in progress or was interrupted; drift not checked, run pulumi refresh again after the next pulumi up`, "warning");
        return outputs;
    }
    const drift = driftFrom(found);
    const out: PlainObject = { ...outputs };
    // From what was deployed each time, so a host set right again by hand shows no drift.
    if (outputs.files && typeof outputs.files === "object") out.files = filesWithDrift(manifest.toFileMap(deployed), drift);
    out.drift = drift as unknown as PlainObject;
    if (drift.changed.length || drift.removed.length) {
        const list = [...drift.changed.map((c) => `  ~ ${c.path}`), ...drift.removed.map((p) => `  - ${p}`)];
        ctx.log(`${ctx.name}: ${drift.changed.length} changed, ${drift.removed.length} removed on the host since the last deployment → ${lifecycle.where(legacy)}${found.liveFolder ? ` (live release ${found.liveFolder})` : ""}\n${list.join("\n")}`);
    }
    if (found.destination) ctx.log(`${ctx.name}: ${describeDestinationProblem(legacy.destination, found.destination, found.liveFolder)}`, "warning");
    return out;
}

/** No drift: what a deployment leaves (it rewrites what refresh found). */
const NO_DRIFT = { changed: [], removed: [] };

function previewOutputs(base: PlainObject, inputs: PlainObject): PlainObject {
    const out: PlainObject = { ...base, ...inputs, drift: NO_DRIFT };
    for (const k of COMPUTED) if (!(k === "instanceId" && typeof base.instanceId === "string")) out[k] = UNKNOWN;
    if (inputs.files === undefined) delete out.files;
    return out;
}

export const deltaDeployment: ResourceLifecycle = {
    secretPaths: SECRET_PATHS,
    async check(ctx, olds, news) {
        return check(ctx, olds, news);
    },
    async diff(ctx, _id, olds, news) {
        return diff(ctx, olds, news);
    },
    async create(ctx, inputs, preview) {
        if (preview) return { id: "", outputs: previewOutputs({}, inputs) };
        const r = await lifecycle.create(toLegacy(ctx, inputs), { log: (l) => ctx.log(l) });
        return { id: r.id, outputs: { ...fromLegacyOutputs(inputs, r.outs), drift: NO_DRIFT } };
    },
    async update(ctx, _id, olds, news, _oldInputs, preview) {
        if (preview) return { outputs: previewOutputs(olds, news) };
        const r = await lifecycle.update(toLegacyOutputs(ctx, olds), toLegacy(ctx, news), { log: (l) => ctx.log(l), drifted: driftedPaths(readDrift(olds)) });
        return { outputs: { ...fromLegacyOutputs(news, r.outs), drift: NO_DRIFT } };
    },
    async delete(ctx, _id, outputs) {
        await lifecycle.remove(toLegacyOutputs(ctx, outputs), { log: (l) => ctx.log(l) });
    },
    async read(ctx, id, outputs, inputs) {
        return { id, outputs: await readHost(ctx, outputs), inputs };
    },
};
