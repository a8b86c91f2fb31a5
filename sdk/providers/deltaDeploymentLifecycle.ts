import * as crypto from "crypto";
import * as fs from "fs";
import * as apply from "../apply";
import { applyOwnership, Ownership } from "../apply/hostFiles";
import { describeConnection, isUnknown, joinSecrets } from "../connection";
import * as manifest from "../manifest";
import * as transport from "../transport";
import { watchEngine } from "./engineWatch";
import { deployAsRelease, leaveReleases, removeAsRelease, strategyOf } from "./deltaDeploymentReleases";
import {
    DeltaDeploymentProviderInputs as Inputs,
    DeltaDeploymentProviderOutputs as Outputs,
    InputFailure,
    manifestFromInputs,
    validateInputs,
} from "./deltaDeploymentInputs";

/**
 * Bytes of each sha256 that state keeps for a tree above diffFileLimit: 64
 * bits tell a changed file with a chance of 2^-64 of missing one in a
 * preview, and deployments decide by the host's ledger, which keeps all 32.
 */
export const STATE_HASH_BYTES = 8;

/**
 * The DeltaDeployment lifecycle in plain functions: the provider class
 * forwards to these, so its serialized form stays a few `require` lines.
 */

export function where(i: Pick<Inputs, "connection" | "destination">): string {
    return `${i.connection ? describeConnection(i.connection) : "local"}:${i.destination}`;
}

/** Progress and summaries go to stdout, which the engine shows under the stack's Diagnostics. */
function log(line: string): void {
    console.log(line);
}

/** What a caller other than the dynamic provider (the plugin) hands in: where lines go, and paths the host changed. */
export interface RunOptions {
    log?: (line: string) => void;
    /** Paths state recorded as changed on the host (refresh): rewritten if they still differ. */
    drifted?: string[];
}

export function check(news: Inputs): { inputs: Inputs; failures: InputFailure[] } {
    watchEngine();
    return { inputs: news, failures: validateInputs(news) };
}

/** Inputs whose change means a different target: a new resource, then the old one's destroy. */
export const REPLACING: [string, (i: Inputs) => unknown][] = [
    ["destination", (i) => i.destination],
    ["kind", (i) => i.kind],
    ["stateDir", (i) => i.stateDir],
    ["connection", (i) => [i.connection?.host, i.connection?.port]],
    // become moves the default state root (the login user's home vs /var/lib/pulumi-delta), where the originals are.
    ["become", (i) => (i.stateDir === undefined ? (i.become ?? null) : null)],
];

export function diff(olds: Outputs, news: Inputs): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    watchEngine();
    const replaces = REPLACING.filter(([, get]) => JSON.stringify(get(olds as unknown as Inputs)) !== JSON.stringify(get(news))).map(([name]) => name);
    if (isUnknown(news.manifestDigest) || isUnknown(news.files)) {
        // The source is not known until an Output resolves during the update.
        return { changes: true, replaces, deleteBeforeReplace: replaces.length > 0 };
    }
    // Equal digests mean equal manifests: a no-change preview of a large tree decodes nothing.
    let filesChange = false;
    if (news.manifestDigest !== olds.manifestDigest || replaces.length) {
        const previous = manifest.decodeManifest(olds.deployed);
        const next = newManifest(news, false);
        const delta = manifest.diffManifests(previous.kind === next.kind ? previous : undefined, next);
        filesChange = !manifest.deltaIsEmpty(delta);
        if (filesChange || replaces.length) log(manifest.formatDelta(news.name, where(news), delta));
    }
    const settingsChange = (["exclude", "onDestroy", "connection", "credentials", "source", "name", "validate", "onChange", "hookTimeout", "become", "owner", "group", "strategy", "keepReleases"] as const).some(
        (k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null),
    );
    // Two resources on one destination would fight: remove the old one first.
    return { changes: filesChange || replaces.length > 0 || settingsChange, replaces, deleteBeforeReplace: replaces.length > 0 };
}

export async function withTransport<T>(i: Pick<Inputs, "connection" | "credentials" | "become">, fn: (t: transport.Transport) => Promise<T>): Promise<T> {
    watchEngine();
    const t = await transport.openTransport(i.connection ? joinSecrets(i.connection, i.credentials) : undefined, { become: i.become ?? undefined });
    try {
        return await fn(t);
    } finally {
        await t.close();
    }
}

/** The deployed files' owner and group, or undefined when neither is set (state from before they existed too). */
function ownershipOf(i: Pick<Inputs, "owner" | "group">): Ownership | undefined {
    if (!i.owner && !i.group) return undefined;
    return { owner: i.owner || undefined, group: i.group || undefined };
}

/** State written before hooks existed has none of these fields. */
function hooksOf(i: Pick<Inputs, "validate" | "onChange" | "hookTimeout">): apply.Hooks {
    return {
        validate: i.validate || undefined,
        onChange: i.onChange || undefined,
        timeoutMs: (i.hookTimeout ?? apply.DEFAULT_HOOK_TIMEOUT_SECONDS) * 1000,
    };
}

function sizeReader(i: Inputs): (p: string) => number {
    return (p) => fs.statSync(manifest.sourcePath(i.source, i.kind, p)).size;
}

/**
 * The manifest to deploy: from the per-file map (sizes from a local stat when
 * needed), or, for a large tree whose inputs carry only the digest, the one
 * the program stored on this machine under that digest — rebuilt from the
 * source when it is not there, and refused if the source no longer matches.
 */
export function newManifest(news: Inputs, withSizes: boolean): manifest.Manifest {
    if (news.files) return manifestFromInputs(news, withSizes ? sizeReader(news) : undefined);
    const stored = manifest.loadStoredManifest(news.manifestDigest);
    if (stored) return stored;
    const rebuilt = manifest.buildManifest(news.source, news.exclude ?? [], { symlinks: news.symlinks ?? undefined });
    const digest = manifest.manifestDigest(rebuilt);
    if (digest !== news.manifestDigest) {
        throw new Error(`source ${news.source} changed after the preview hashed it (manifest ${news.manifestDigest}, now ${digest}); run pulumi up again`);
    }
    return rebuilt;
}

/**
 * Who this resource is in the host's ledger. State written by 0.1 has no
 * instance id: it gets one derived from what identified it then, the same
 * on every contact, so its update or delete finds the paths it claimed.
 */
function identityOf(i: Inputs, instance: string): apply.OwnerId {
    return { instance, organization: i.organization || undefined, project: i.project, stack: i.stack, urn: i.resourceUrn || undefined, name: i.name };
}

export function instanceOf(o: Outputs): string {
    return o.instanceId ?? apply.legacyInstanceId(o.project, o.stack, o.name, o.destination);
}

async function deployInputs(news: Inputs, previous: Outputs | undefined, instance: string, run: RunOptions = {}): Promise<Outputs> {
    const next = newManifest(news, true);
    const ownership = ownershipOf(news);
    if (strategyOf(news) === "releases") return deployReleaseInputs(news, previous, instance, next, run);
    const result = await withTransport(news, async (t) => {
        // Back from releases: the original returns to destination, and this deployment starts afresh on it.
        if (previous && strategyOf(previous) === "releases") {
            await leaveReleases({ t, news, identity: identityOf(news, instance), owner: { project: news.project, stack: news.stack, resource: news.name }, log: run.log ?? log });
            previous = undefined;
        }
        const r = await apply.deploy(t, {
            source: news.source,
            destination: news.destination,
            stateDir: news.stateDir,
            previous: previous ? manifest.decodeManifest(previous.deployed) : undefined,
            previousDigest: previous?.manifestDigest,
            next,
            createdDirs: previous ? manifest.decodePaths(previous.createdDirs) : [],
            name: news.name,
            log: run.log ?? log,
            progressIntervalMs: apply.progressIntervalMs(process.env),
            hooks: hooksOf(news),
            owner: { project: news.project, stack: news.stack, resource: news.name },
            ownership,
            identity: identityOf(news, instance),
            takeOverFrom: news.takeOverFrom ?? undefined,
            drifted: run.drifted,
            preserveMtimes: news.preserveMtimes ?? true,
        });
        // Files the delta did not touch still carry the old owner: a changed owner or group applies to every deployed file.
        const before = previous ? ownershipOf(previous) : undefined;
        if (ownership && previous && JSON.stringify(ownership) !== JSON.stringify(before ?? null)) await applyOwnership(t, news.destination, next, ownership);
        return r;
    });
    return deployedOutputs(news, previous, instance, next, result, result.createdDirs);
}

/** What either strategy's deployment leaves in state: the inputs (less the file map), the manifest's summary and the compact deployed manifest. */
function deployedOutputs(
    news: Inputs,
    previous: Outputs | undefined,
    instance: string,
    next: manifest.Manifest,
    result: { delta: manifest.ManifestDelta; bytesSent: number; record?: Outputs["lastRecord"] },
    createdDirs: string[],
): Outputs {
    const { files: _files, ...rest } = news;
    return {
        ...rest,
        manifestDigest: manifest.manifestDigest(next),
        fileCount: next.entries.size,
        totalBytes: manifest.totalBytes(next),
        lastDelta: { added: result.delta.added.length, changed: result.delta.changed.length, removed: result.delta.removed.length, bytesSent: result.bytesSent },
        // A deployment that changed nothing keeps the previous record.
        lastRecord: result.record ?? previous?.lastRecord ?? null,
        // Above diffFileLimit state keeps 8 bytes of each hash: the engine logs and copies this value several times per preview; the host keeps the whole hashes (the ledger, each release's manifest).
        deployed: manifest.encodeManifest(next, { hashBytes: news.files === undefined ? STATE_HASH_BYTES : 32 }),
        createdDirs: manifest.encodePaths(createdDirs),
        instanceId: instance,
    };
}

async function deployReleaseInputs(news: Inputs, previous: Outputs | undefined, instance: string, next: manifest.Manifest, run: RunOptions): Promise<Outputs> {
    const { result } = await withTransport(news, (t) =>
        deployAsRelease({ t, news, previous, next, ownership: ownershipOf(news), hooks: hooksOf(news), identity: identityOf(news, instance), owner: { project: news.project, stack: news.stack, resource: news.name }, log: run.log ?? log, drifted: run.drifted }),
    );
    return { ...deployedOutputs(news, previous, instance, next, result, []), keptReleases: result.kept };
}

export async function create(news: Inputs, run: RunOptions = {}): Promise<{ id: string; outs: Outputs }> {
    return { id: where(news), outs: await deployInputs(news, undefined, crypto.randomBytes(8).toString("hex"), run) };
}

export async function update(olds: Outputs, news: Inputs, run: RunOptions = {}): Promise<{ outs: Outputs }> {
    return { outs: await deployInputs(news, olds, instanceOf(olds), run) };
}

export async function remove(props: Outputs, run: RunOptions = {}): Promise<void> {
    if (strategyOf(props) === "releases") {
        const owner = { project: props.project, stack: props.stack, resource: props.name };
        await withTransport(props, (t) => removeAsRelease(t, props, hooksOf(props), identityOf(props, instanceOf(props)), owner, run.log ?? log));
        return;
    }
    await withTransport(props, (t) =>
        apply.destroy(t, {
            destination: props.destination,
            stateDir: props.stateDir,
            deployed: manifest.decodeManifest(props.deployed),
            createdDirs: manifest.decodePaths(props.createdDirs),
            onDestroy: props.onDestroy ?? "restore",
            name: props.name,
            log: run.log ?? log,
            hooks: hooksOf(props),
            owner: { project: props.project, stack: props.stack, resource: props.name },
            identity: identityOf(props, instanceOf(props)),
        }),
    );
}
