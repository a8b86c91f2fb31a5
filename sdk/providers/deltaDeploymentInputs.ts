import * as path from "path";
import { DeltaRecord, DeltaRecordSummary, ON_DESTROY_VALUES, OnDestroy, pathsOverlap, STAGED } from "../apply";
import { RELEASE } from "../apply/releases/hooks";
import { DEFAULT_KEEP_RELEASES } from "../apply/releases/deploy";
import { ConnectionSecrets, isUnknown, joinSecrets, PublicConnection, validateConnection } from "../connection";
import { Manifest, ManifestEntry, parseFileMapValue, parseMaxDelete, SYMLINK_POLICIES, SymlinkPolicy, validateExclude } from "../manifest";

/** What the DeltaDeployment dynamic resource receives (plain values). */
export interface DeltaDeploymentProviderInputs {
    /** The component's name, for messages. */
    name: string;
    /** Absolute local path of the source. */
    source: string;
    kind: "dir" | "file";
    destination: string;
    connection?: PublicConnection;
    credentials?: ConnectionSecrets;
    exclude?: string[];
    onDestroy: OnDestroy;
    stateDir?: string;
    /** Command run on the host to check the new files; `{staged}` names the staged copy of a single file. */
    validate?: string;
    /** Command run on the host after files changed. */
    onChange?: string;
    /** Seconds each hook may run. Default: 60. */
    hookTimeout?: number;
    /** "sudo": a login user that is not root acts as root through `sudo -n`. */
    become?: "sudo";
    /** User (name or uid) that owns the deployed files. */
    owner?: string;
    /** Group (name or gid) of the deployed files. */
    group?: string;
    /** `pulumi.getProject()` / `pulumi.getStack()` of the program, for records (the provider cannot call them). */
    project?: string;
    stack?: string;
    /** `pulumi.getOrganization()`, for the host's ownership ledger. */
    organization?: string;
    /** The DeltaDeployment's URN, for the host's ownership ledger and messages. */
    resourceUrn?: string;
    /** Stacks (`project/stack` or `org/project/stack`) whose paths on the host this deployment may take over. */
    takeOverFrom?: string[];
    /** "inPlace" (default): files renamed into place one by one; "releases": a whole release folder behind a symlink flipped at once. */
    strategy?: Strategy;
    /** With strategy "releases": how many releases stay on the host, the live one included. Default: 3. */
    keepReleases?: number;
    /** What a symlink under the source becomes. Default: "preserve". */
    symlinks?: SymlinkPolicy;
    /** Keep the source's mtimes on the host. Default: true. */
    preserveMtimes?: boolean;
    /** The most files one update may remove: a count, or a percentage of the deployed files ("10%"). Default: no limit. */
    maxDelete?: number | string;
    /** Lets an update remove every deployed file while adding none (an empty source). Default: false. */
    allowEmptySource?: boolean;
    /** path → "<octal mode> sha256:<hex>", "link -> <target>" or "<octal mode> dir" */
    files?: Record<string, string>;
    manifestDigest: string;
    fileCount: number;
    totalBytes: number;
}

export type Strategy = "inPlace" | "releases";
export const STRATEGIES: readonly Strategy[] = ["inPlace", "releases"];

/** A release kept on the host (strategy "releases"): Diff reads these to tell a rollback from a new release, without the network. */
export interface KeptRelease {
    id: string;
    digest: string;
}

export interface LastDelta {
    added: number;
    changed: number;
    removed: number;
    bytesSent: number;
}

/** What the resource keeps in state: the inputs minus the file map, plus the compact deployed manifest. */
export interface DeltaDeploymentProviderOutputs extends Omit<DeltaDeploymentProviderInputs, "files"> {
    lastDelta: LastDelta;
    /** The record of the last deployment that changed files (a summary when it lists more than 1,000 files). */
    lastRecord?: DeltaRecord | DeltaRecordSummary | null;
    /** Internal: the deployed manifest, compactly encoded. */
    deployed: string;
    /** Internal: directories deployments created, compactly encoded. */
    createdDirs: string;
    /** Minted by create; tells this resource's deployments on the host from a replacement's (which keeps the URN). Absent in state written by 0.1. */
    instanceId?: string;
    /** Internal (strategy "releases"): the releases kept on the host after the last deployment, the live one included. */
    keptReleases?: KeptRelease[];
}

export interface InputFailure {
    property: string;
    reason: string;
}

/** What `chown` takes as a user or group: a name (POSIX portable characters, a trailing `$` for Samba machine accounts) or a number. */
const ACCOUNT_NAME = /^(?:[0-9]+|[A-Za-z_][A-Za-z0-9._-]*\$?)$/;

function show(v: unknown): string {
    return JSON.stringify(v);
}


/** Every problem with the inputs at once, each naming the input, the bad value and the fix. */
export function validateInputs(news: Partial<DeltaDeploymentProviderInputs>): InputFailure[] {
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const { destination, source, onDestroy, stateDir } = news;
    if (!isUnknown(source) && (typeof source !== "string" || source === "")) {
        fail("source", `source must be a local directory or file path, got ${show(source)}`);
    }
    if (!isUnknown(destination)) {
        if (typeof destination !== "string" || !destination.startsWith("/")) {
            fail("destination", `destination must be an absolute path on the host such as "/srv/www/site", got ${show(destination)}`);
        } else if (destination === "/" || path.posix.normalize(destination) !== destination.replace(/\/+$/, "") || destination.endsWith("/")) {
            fail("destination", `destination ${show(destination)} must be a normalized path below "/" without "..", "." or a trailing "/", e.g. ${show(path.posix.normalize(destination).replace(/\/+$/, "") || "/srv/site")}`);
        }
    }
    if (onDestroy !== undefined && !isUnknown(onDestroy) && !ON_DESTROY_VALUES.includes(onDestroy)) {
        fail("onDestroy", `onDestroy must be one of ${ON_DESTROY_VALUES.map((v) => show(v)).join(", ")}, got ${show(onDestroy)}`);
    }
    if (stateDir !== undefined && !isUnknown(stateDir)) {
        if (typeof stateDir !== "string" || !(stateDir.startsWith("/") || stateDir.startsWith("~/"))) {
            fail("stateDir", `stateDir must be an absolute path on the host (or start with "~/"), e.g. "/var/lib/pulumi-delta", got ${show(stateDir)}`);
        } else if (typeof destination === "string" && destination.startsWith("/") && stateDir.startsWith("/") && pathsOverlap(stateDir, destination)) {
            fail("stateDir", `stateDir ${show(stateDir)} and destination ${show(destination)} overlap; keep deployment metadata outside what services read, e.g. "/var/lib/pulumi-delta"`);
        }
    }
    for (const hook of ["validate", "onChange"] as const) {
        const cmd = news[hook];
        if (cmd === undefined || cmd === null || isUnknown(cmd)) continue;
        if (typeof cmd !== "string" || cmd.trim() === "") {
            fail(hook, `${hook} must be a shell command such as ${show(hook === "validate" ? "nginx -t" : "systemctl reload nginx")}, got ${show(cmd)}; omit it to run nothing`);
        } else if (cmd.includes(STAGED) && hook === "onChange") {
            fail(hook, `onChange ${show(cmd)} uses ${STAGED}, which only validate supports (onChange runs after the files are in place); name the destination path instead`);
        } else if (cmd.includes(STAGED) && news.kind === "dir") {
            fail(hook, `validate ${show(cmd)} uses ${STAGED}, which needs a single-file source, but source is a directory; drop ${STAGED} to run the command after the new files are in place`);
        }
    }
    if (news.hookTimeout !== undefined && news.hookTimeout !== null && !isUnknown(news.hookTimeout)) {
        if (typeof news.hookTimeout !== "number" || !Number.isFinite(news.hookTimeout) || news.hookTimeout <= 0) {
            fail("hookTimeout", `hookTimeout must be a positive number of seconds such as 60, got ${show(news.hookTimeout)}`);
        }
    }
    if (news.become !== undefined && news.become !== null && !isUnknown(news.become) && news.become !== "sudo") {
        fail("become", `become must be "sudo" (act as root through sudo -n when the login user is not root), got ${show(news.become)}; omit it to act as the login user`);
    }
    for (const k of ["owner", "group"] as const) {
        const v = news[k];
        if (v === undefined || v === null || isUnknown(v)) continue;
        if (typeof v !== "string" || !ACCOUNT_NAME.test(v)) {
            fail(k, `${k} must be a ${k === "owner" ? "user" : "group"} name or numeric id on the host such as "www-data" or "0" (no ":"; set ${k === "owner" ? "group" : "owner"} apart), got ${show(v)}`);
        }
    }
    for (const f of validateStrategy(news)) fail(f.property, f.reason);
    for (const reason of validateExclude(news.exclude)) fail("exclude", reason);
    if (news.symlinks !== undefined && news.symlinks !== null && !isUnknown(news.symlinks) && !SYMLINK_POLICIES.includes(news.symlinks)) {
        fail("symlinks", `symlinks must be one of ${SYMLINK_POLICIES.map(show).join(", ")}, got ${show(news.symlinks)}; omit it to deploy symlinks as symlinks ("preserve")`);
    }
    if (news.preserveMtimes !== undefined && news.preserveMtimes !== null && !isUnknown(news.preserveMtimes) && typeof news.preserveMtimes !== "boolean") {
        fail("preserveMtimes", `preserveMtimes must be true or false, got ${show(news.preserveMtimes)}; omit it to keep the source's mtimes`);
    }
    if (news.maxDelete !== undefined && news.maxDelete !== null && !isUnknown(news.maxDelete)) {
        const parsed = parseMaxDelete(news.maxDelete);
        if ("problem" in parsed) fail("maxDelete", parsed.problem);
    }
    const allowEmpty = news.allowEmptySource;
    if (allowEmpty !== undefined && allowEmpty !== null && !isUnknown(allowEmpty) && typeof allowEmpty !== "boolean") {
        fail("allowEmptySource", `allowEmptySource must be true or false, got ${show(allowEmpty)}; set it to true only for an update meant to remove every deployed file`);
    }
    if (news.takeOverFrom !== undefined && news.takeOverFrom !== null && !isUnknown(news.takeOverFrom)) {
        const bad = Array.isArray(news.takeOverFrom) ? news.takeOverFrom.filter((s) => !isUnknown(s) && (typeof s !== "string" || !/^[^/\s]+\/[^/\s]+(\/[^/\s]+)?$/.test(s))) : [news.takeOverFrom];
        if (bad.length) fail("takeOverFrom", `takeOverFrom must list stacks as "project/stack" or "org/project/stack", e.g. ["site/staging"], got ${bad.map(show).join(", ")}`);
    }
    if (news.connection !== undefined && !isUnknown(news.connection)) {
        for (const reason of validateConnection(joinSecrets(news.connection, isUnknown(news.credentials) ? undefined : news.credentials))) {
            fail("connection", reason);
        }
    }
    return failures;
}

/** `strategy`, `keepReleases` and what `strategy: "releases"` rules out. */
function validateStrategy(news: Partial<DeltaDeploymentProviderInputs>): InputFailure[] {
    const out: InputFailure[] = [];
    const { strategy, keepReleases } = news;
    if (strategy !== undefined && strategy !== null && !isUnknown(strategy) && !STRATEGIES.includes(strategy)) {
        out.push({ property: "strategy", reason: `strategy must be one of ${STRATEGIES.map(show).join(", ")}, got ${show(strategy)}` });
    }
    const releases = strategy === "releases";
    if (keepReleases !== undefined && keepReleases !== null && !isUnknown(keepReleases)) {
        if (typeof keepReleases !== "number" || !Number.isInteger(keepReleases) || keepReleases < 1) {
            out.push({ property: "keepReleases", reason: `keepReleases must be a whole number of releases, 1 or more (the live one counts), such as 3, got ${show(keepReleases)}` });
        } else if (!releases && strategy !== undefined && !isUnknown(strategy) && keepReleases !== DEFAULT_KEEP_RELEASES) {
            // The default itself is no mistake: SDKs that apply the schema's defaults send it with strategy "inPlace".
            out.push({ property: "keepReleases", reason: `keepReleases ${show(keepReleases)} applies only to strategy "releases", but strategy is ${show(strategy ?? "inPlace")}; set strategy: "releases" or drop keepReleases` });
        }
    }
    if (releases && news.kind === "file") {
        out.push({ property: "strategy", reason: `strategy "releases" needs a directory source (a release is a whole folder behind a symlink), but source ${show(news.source)} is a single file; use strategy "inPlace" for a single file` });
    }
    for (const hook of ["validate", "onChange"] as const) {
        const cmd = news[hook];
        if (typeof cmd !== "string" || !cmd.includes(RELEASE)) continue;
        if (hook === "onChange") out.push({ property: hook, reason: `onChange ${show(cmd)} uses ${RELEASE}, which only validate supports (onChange runs after destination points at the new release); name destination instead` });
        else if (!releases && !isUnknown(strategy)) out.push({ property: hook, reason: `validate ${show(cmd)} uses ${RELEASE}, which names the new release's folder and needs strategy "releases"; set strategy: "releases" or drop ${RELEASE}` });
    }
    return out;
}

/**
 * The manifest the inputs describe. Sizes are not in the file map; `sizeOf`
 * supplies them (a local stat) where they matter, zero otherwise.
 */
export function manifestFromInputs(news: Pick<DeltaDeploymentProviderInputs, "kind" | "files">, sizeOf?: (p: string) => number): Manifest {
    const entries = new Map<string, ManifestEntry>();
    for (const [p, v] of Object.entries(news.files ?? {})) {
        const parsed = parseFileMapValue(v);
        if (!parsed) throw new Error(`files[${show(p)}] in the resource inputs is ${show(v)}, not "<mode> sha256:<hex>", "link -> <target>" or "<mode> dir"; this state was not written by pulumi-delta`);
        // A link's size is its target's length and a folder's 0, both known from the value itself.
        entries.set(p, parsed.type ? parsed : { ...parsed, size: sizeOf ? sizeOf(p) : 0 });
    }
    return { kind: news.kind, entries };
}
