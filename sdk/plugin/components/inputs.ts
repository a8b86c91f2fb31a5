import * as pulumi from "@pulumi/pulumi";

/**
 * Construct hands a component its inputs as the Node SDK's provider server
 * does: an input that is secret or has dependencies arrives as an Output,
 * and a secret nested inside a plain value as the SDK's wrapper object. What
 * shapes the children (host names, the rollout, tenants, the deltas folder)
 * must be plain data when the constructor runs; these settle it.
 */

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** The Output members the SDK keeps off its public typings. */
interface OutputInternals {
    promise(withUnknowns?: boolean): Promise<unknown>;
    isSecret: Promise<boolean>;
}

function unwrapSecrets(v: unknown): { value: unknown; secret: boolean } {
    if (Array.isArray(v)) {
        const parts = v.map(unwrapSecrets);
        return { value: parts.map((p) => p.value), secret: parts.some((p) => p.secret) };
    }
    if (v && typeof v === "object" && !pulumi.Output.isInstance(v) && !pulumi.Resource.isInstance(v)) {
        const o = v as Record<string, unknown>;
        if (o[SIG_KEY] === SECRET_SIG) return { value: unwrapSecrets(o.value).value, secret: true };
        let secret = false;
        const value: Record<string, unknown> = {};
        for (const [k, e] of Object.entries(o)) {
            const p = unwrapSecrets(e);
            value[k] = p.value;
            secret ||= p.secret;
        }
        return { value, secret };
    }
    return { value: v, secret: false };
}

/** One input as plain data (unknowns left in place during a preview), and whether any of it is secret. */
export async function settle(input: unknown): Promise<{ value: unknown; secret: boolean }> {
    if (!pulumi.Output.isInstance(input)) return unwrapSecrets(input);
    const o = input as unknown as OutputInternals;
    const [value, secret] = await Promise.all([o.promise(true), o.isSecret]);
    const inner = unwrapSecrets(value);
    return { value: inner.value, secret: secret || inner.secret };
}

/** A part of a settled input, as an input for a child: with the whole input's dependencies, and secret if any of it was. */
export function partOf(input: unknown, part: unknown, secret: boolean): pulumi.Output<unknown> {
    const out = (pulumi.output(input) as pulumi.Output<unknown>).apply(() => part);
    return secret ? pulumi.secret(out) : out;
}
