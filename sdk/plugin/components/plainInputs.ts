import * as pulumi from "@pulumi/pulumi";

/**
 * Construct hands a component each top-level input as it arrived: plain, or
 * an Output when the program marked it secret or it depends on other
 * resources. A YAML program sends a whole list as one secret when one entry
 * holds a secret (a fleet's `hosts` with their private keys), where a Node
 * program sends Outputs nested at the secret leaves. The inputs that decide
 * which children exist and what they are named must be plain values; these
 * helpers wait for them. Waiting during `up` also means the resources they
 * depend on are done before a child that uses them is registered.
 */

/** The value of an Output with any unknown parts left in place (`pulumi.unknown`); a plain value as it is. */
async function valueOf(v: unknown): Promise<unknown> {
    if (!pulumi.Output.isInstance(v)) return v;
    // `promise(withUnknowns)` is internal to the SDK, as is everything Construct runs on (see ../server/construct.ts).
    return (v as unknown as { promise(withUnknowns?: boolean): Promise<unknown> }).promise(true);
}

async function plain(component: string, name: string, key: string, v: unknown): Promise<unknown> {
    const value = await valueOf(v);
    if (pulumi.isUnknown(value)) {
        throw new Error(`${component} ${name}: ${key} must be known when the program runs (it lays out the children), but it is not known yet in this preview; make it a value the program knows, not an output of a resource still to be created`);
    }
    return value;
}

/** `inputs` with each of `keys` as a plain value. */
export async function withPlain(component: string, name: string, inputs: Record<string, unknown>, keys: string[]): Promise<Record<string, unknown>> {
    const out = { ...inputs };
    for (const k of keys) if (k in out) out[k] = await plain(component, name, k, out[k]);
    return out;
}

/**
 * A fleet's `hosts` as a plain list of `{ name, connection }` whose names are
 * plain; each connection that came inside an Output stays one (taken from
 * it), so its secrets and dependencies reach the host's deployment.
 */
export async function plainHosts(name: string, hosts: unknown): Promise<unknown> {
    if (!pulumi.Output.isInstance(hosts)) return plain("DeltaFleet", name, "hosts", hosts);
    const value = await plain("DeltaFleet", name, "hosts", hosts);
    if (!Array.isArray(value)) return value;
    return value.map((h: unknown, i) => {
        if (h === null || typeof h !== "object" || pulumi.isUnknown(h)) return h;
        const host = h as Record<string, unknown>;
        const connection = (hosts as pulumi.Output<Record<string, unknown>[]>).apply((list) => list[i]?.connection);
        return { ...host, connection: host.connection === undefined ? undefined : connection };
    });
}
