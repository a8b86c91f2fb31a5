import type { Struct } from "google-protobuf/google/protobuf/struct_pb";

/**
 * Pulumi's wire form of property values (a protobuf Struct) to plain values
 * and back. Only what the engine sends to this provider's custom resources:
 * secrets (a signature-tagged object, unwrapped here and remembered by path)
 * and unknowns (a sentinel string during preview, kept as that string).
 */

export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type Plain = null | boolean | number | string | Plain[] | { [k: string]: Plain };
export type PlainObject = { [k: string]: Plain };

/** Plain values plus the dotted paths (`connection.privateKey`, `hosts[0].connection`) that arrived secret. */
export interface Decoded {
    value: PlainObject;
    secrets: Set<string>;
}

function join(base: string, key: string | number): string {
    return typeof key === "number" ? `${base}[${key}]` : base ? `${base}.${key}` : key;
}

function isSecretWrapper(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && !Array.isArray(v) && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

function unwrap(v: unknown, at: string, secrets: Set<string>): Plain {
    if (isSecretWrapper(v)) {
        secrets.add(at);
        return unwrap(v.value ?? null, at, secrets);
    }
    if (Array.isArray(v)) return v.map((x, i) => unwrap(x, join(at, i), secrets));
    if (typeof v === "object" && v !== null) {
        const o = v as Record<string, unknown>;
        if (typeof o[SIG_KEY] === "string") throw new Error(`unsupported property value kind ${String(o[SIG_KEY])} at ${at || "the top level"} (assets, archives and resource references are not inputs of pulumi-delta)`);
        const out: PlainObject = {};
        for (const [k, x] of Object.entries(o)) out[k] = unwrap(x, join(at, k), secrets);
        return out;
    }
    return v as Plain;
}

export function decode(s: Struct | undefined): Decoded {
    const secrets = new Set<string>();
    const value = s ? (unwrap(s.toJavaScript(), "", secrets) as PlainObject) : {};
    return { value, secrets };
}

/** A dotted path (`hosts[0].connection`) as its keys and indexes. */
function pathParts(p: string): (string | number)[] {
    const parts: (string | number)[] = [];
    for (const m of p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) parts.push(m[2] !== undefined ? Number(m[2]) : m[1]);
    return parts;
}

/**
 * Wraps the values at the given paths as secrets, for the engine to store
 * encrypted; a path that is absent (or null) is skipped. Does not modify `value`.
 */
export function withSecrets(value: PlainObject, paths: Iterable<string>): Record<string, unknown> {
    const out = structuredClone(value) as Record<string, unknown>;
    for (const p of paths) {
        const parts = pathParts(p);
        let parent: Record<string | number, unknown> | undefined = out;
        for (const part of parts.slice(0, -1)) {
            const next: unknown = parent?.[part];
            parent = typeof next === "object" && next !== null ? (next as Record<string | number, unknown>) : undefined;
        }
        const last = parts[parts.length - 1];
        if (!parent || last === undefined || parent[last] === undefined || parent[last] === null || isSecretWrapper(parent[last])) continue;
        parent[last] = { [SIG_KEY]: SECRET_SIG, value: parent[last] };
    }
    return out;
}

/** Drops undefined members (a Struct cannot hold them) and returns a Struct. */
export function encode(StructClass: typeof Struct, value: Record<string, unknown>): Struct {
    return StructClass.fromJavaScript(JSON.parse(JSON.stringify(value)) as Record<string, never>);
}

export function isUnknownValue(v: unknown): boolean {
    return v === UNKNOWN;
}

/** True when the value or anything inside it is still unknown (preview). */
export function containsUnknown(v: unknown): boolean {
    if (v === UNKNOWN) return true;
    if (Array.isArray(v)) return v.some(containsUnknown);
    if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
    return false;
}
