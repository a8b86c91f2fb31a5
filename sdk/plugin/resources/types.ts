import type { PlainObject } from "../server/codec";

/** What a lifecycle knows of the request beyond its properties. */
export interface ResourceContext {
    urn: string;
    /** The resource's name (the last part of its URN). */
    name: string;
    project: string;
    stack: string;
    /** Lines for the engine to show under this resource (plain preview's Diagnostics). */
    log(message: string, severity?: "debug" | "info" | "warning" | "error"): void;
}

export interface CheckFailure {
    property: string;
    reason: string;
}

export interface CheckResult {
    inputs: PlainObject;
    failures: CheckFailure[];
}

export type PropertyDiffKind = "add" | "update" | "delete" | "add-replace" | "update-replace" | "delete-replace";

export interface DiffResult {
    changes: boolean;
    replaces: string[];
    deleteBeforeReplace: boolean;
    /** Property paths (`files["a.txt"]`, `onDestroy`) the engine prints, each with its marker. */
    detailedDiff?: Record<string, PropertyDiffKind>;
}

/**
 * One custom resource's lifecycle, as the engine drives it. The server
 * decodes each request into plain values (secrets unwrapped) and calls one
 * of these; what they return is encoded back, with `secretPaths` and every
 * path that arrived secret wrapped again.
 */
export interface ResourceLifecycle {
    /** Paths (dotted, as in the codec) that are always stored as secrets. */
    readonly secretPaths: readonly string[];
    check(ctx: ResourceContext, olds: PlainObject, news: PlainObject): Promise<CheckResult>;
    /** `olds` are the old outputs, `news` the new checked inputs. */
    diff(ctx: ResourceContext, id: string, olds: PlainObject, news: PlainObject, oldInputs: PlainObject): Promise<DiffResult>;
    create(ctx: ResourceContext, inputs: PlainObject, preview: boolean): Promise<{ id: string; outputs: PlainObject }>;
    /** Refresh: what the host holds now. An empty id means the resource is gone. */
    read(ctx: ResourceContext, id: string, outputs: PlainObject, inputs: PlainObject): Promise<{ id: string; outputs: PlainObject; inputs: PlainObject }>;
    update(ctx: ResourceContext, id: string, olds: PlainObject, news: PlainObject, oldInputs: PlainObject, preview: boolean): Promise<{ outputs: PlainObject }>;
    delete(ctx: ResourceContext, id: string, outputs: PlainObject, oldInputs: PlainObject): Promise<void>;
}

/** A component served by Construct: the program side's inputs in, the component's outputs out. */
export interface ComponentConstructor {
    construct(name: string, inputs: Record<string, unknown>, options: Record<string, unknown>): Promise<{ urn: unknown; state: Record<string, unknown> }>;
}

/** `urn:pulumi:<stack>::<project>::<type>::<name>`; a name may itself contain `::`. */
export function parseUrn(urn: string): { stack: string; project: string; type: string; name: string } {
    const parts = urn.split("::");
    const stack = (parts[0] ?? "").replace(/^urn:pulumi:/, "");
    return { stack, project: parts[1] ?? "", type: parts[2] ?? "", name: parts.slice(3).join("::") };
}
