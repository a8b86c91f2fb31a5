import * as path from "path";
import { ConnectionInputs, isUnknown, splitSecrets } from "../../connection";
import * as manifest from "../../manifest";
import type { DeltaDeploymentProviderInputs as Legacy, DeltaDeploymentProviderOutputs as LegacyOutputs } from "../../providers/deltaDeploymentInputs";
import type { Plain, PlainObject } from "../server/codec";
import type { ResourceContext } from "./types";

/**
 * DeltaDeployment's properties as the plugin keeps them in state, and their
 * translation to the shape the lifecycle in ../../providers works on (the
 * one 0.1's dynamic provider stored): the plugin keeps the user's inputs as
 * written (a relative `source`, one `connection` with its secrets marked)
 * plus what Check adds; the lifecycle wants absolute paths, the secrets
 * apart and the resource's name and stack.
 */

/** Default for `diffFileLimit`. */
export const DEFAULT_DIFF_FILE_LIMIT = 1000;

/** Paths stored as secrets in inputs and outputs. */
export const SECRET_PATHS = ["password", "privateKey", "privateKeyPassword"].flatMap((k) => [`connection.${k}`, `connection.proxy.${k}`]);

/** What Check adds to the user's inputs. */
export const CHECKED = ["kind", "files", "manifestDigest", "fileCount", "totalBytes"] as const;

/** Outputs the lifecycle adds; unknown in a preview. */
export const COMPUTED = ["lastDelta", "lastRecord", "deployed", "createdDirs", "instanceId", "keptReleases"] as const;

/** Fields of the lifecycle's shape that the plugin derives at each call rather than storing. */
const DERIVED = ["name", "project", "stack", "organization", "resourceUrn", "credentials", "source", "connection"] as const;

export function str(v: Plain | undefined): string | undefined {
    return typeof v === "string" ? v : undefined;
}

export function absoluteSource(source: string): string {
    // The plugin runs in the program's directory, so a relative source means what the user wrote.
    return path.resolve(source);
}

/** The lifecycle's inputs from the plugin's (checked) inputs or outputs. */
export function toLegacy(ctx: ResourceContext, p: PlainObject): Legacy {
    const conn = p.connection && typeof p.connection === "object" && !Array.isArray(p.connection) ? splitSecrets(p.connection as unknown as ConnectionInputs) : undefined;
    const source = str(p.source);
    return {
        ...(p as unknown as Legacy),
        name: ctx.name,
        project: ctx.project,
        stack: ctx.stack,
        organization: undefined,
        resourceUrn: ctx.urn,
        source: source === undefined || source === "" || isUnknown(source) ? (source as string) : absoluteSource(source),
        connection: conn?.connection,
        credentials: conn && Object.keys(conn.secrets).length ? conn.secrets : undefined,
        onDestroy: (str(p.onDestroy) ?? "restore") as Legacy["onDestroy"],
    };
}

export function toLegacyOutputs(ctx: ResourceContext, p: PlainObject): LegacyOutputs {
    return toLegacy(ctx, p) as unknown as LegacyOutputs;
}

/** The plugin's outputs from the lifecycle's: the user's inputs as stored, plus what the lifecycle computed. */
export function fromLegacyOutputs(inputs: PlainObject, outs: LegacyOutputs): PlainObject {
    const computed: Record<string, unknown> = { ...outs };
    for (const k of DERIVED) delete computed[k];
    delete computed.files;
    const result: PlainObject = { ...inputs, ...(JSON.parse(JSON.stringify(computed)) as PlainObject) };
    // The per-file map stays in the outputs of a small tree: the engine reads each file's old value there for `~ old => new`.
    if (inputs.files === undefined) delete result.files;
    return result;
}

/** One walk and hash per source and exclude list per plugin process: a fleet's hosts share it. */
const walked = new Map<string, manifest.Manifest>();
let walks = 0;

export function sourceWalks(): number {
    return walks;
}

export function manifestOf(source: string, exclude: string[], symlinks?: manifest.SymlinkPolicy): manifest.Manifest {
    const key = `${source}\0${JSON.stringify(exclude)}\0${symlinks ?? ""}`;
    let m = walked.get(key);
    if (!m) {
        m = manifest.buildManifest(source, exclude, { symlinks });
        walks++;
        walked.set(key, m);
    }
    return m;
}

/** The manifest as Check stores it in the inputs: the per-file map up to `limit` files, above it the digest (the manifest itself kept on this machine). */
export function manifestProps(m: manifest.Manifest, limit: number): PlainObject {
    const large = m.entries.size > limit;
    const digest = large ? manifest.storeManifest(m) : manifest.manifestDigest(m);
    return { kind: m.kind, ...(large ? {} : { files: manifest.toFileMap(m) }), manifestDigest: digest, fileCount: m.entries.size, totalBytes: manifest.totalBytes(m) };
}
