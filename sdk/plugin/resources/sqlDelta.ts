import { ConnectionInputs, splitSecrets } from "../../connection";
import type { SqlDeltaProviderInputs as Legacy, SqlDeltaProviderOutputs as LegacyOutputs } from "../../providers/sqlDeltaInputs";
import * as lifecycle from "../../providers/sqlDeltaLifecycle";
import type { PlainObject } from "../server/codec";
import { UNKNOWN } from "../server/codec";
import type { ResourceContext, ResourceLifecycle } from "./types";

/**
 * One SQL delta on one tenant (the children SqlDeltas constructs). The
 * lifecycle in ../../providers does the work; this translates the plugin's
 * properties (one `connection` and one `client` with their secrets marked)
 * to its shape and derives what 0.1's component passed in by hand: whose
 * delta it is, for the history row.
 */

export const SQL_SECRET_PATHS = ["client.password", ...["password", "privateKey", "privateKeyPassword"].flatMap((k) => [`connection.${k}`, `connection.proxy.${k}`])];

const DERIVED = ["component", "appliedBy", "password", "credentials", "connection", "client"] as const;
/** Kept in the outputs only. The owner is the one last written to the history row: an update compares it with the current one. */
const COMPUTED = ["appliedAt", "outcome", "instanceId", "ownerStack", "ownerUrn"] as const;

/** `stored`: `p` is state (outputs), whose owner is the one recorded then (none if the state has none), not this URN. */
function toLegacy(ctx: ResourceContext, p: PlainObject, stored = false): LegacyOutputs {
    const component = typeof p.component === "string" && p.component ? p.component : ctx.name;
    const conn = p.connection && typeof p.connection === "object" ? splitSecrets(p.connection as unknown as ConnectionInputs) : undefined;
    const client = p.client && typeof p.client === "object" ? { ...(p.client as Record<string, unknown>) } : undefined;
    const password = client?.password;
    if (client) delete client.password;
    return {
        ...(p as unknown as LegacyOutputs),
        component,
        appliedBy: `pulumi-delta ${ctx.project}/${ctx.stack} ${component}`,
        ownerStack: stored ? (p.ownerStack as string) : `${ctx.project}/${ctx.stack}`,
        ownerUrn: stored ? (p.ownerUrn as string) : ctx.urn,
        client: client && Object.keys(client).length ? (client as Legacy["client"]) : undefined,
        password: typeof password === "string" ? password : undefined,
        connection: conn?.connection,
        credentials: conn && Object.keys(conn.secrets).length ? conn.secrets : undefined,
    };
}

function fromLegacy(inputs: PlainObject, outs: LegacyOutputs): PlainObject {
    const computed: Record<string, unknown> = { ...outs };
    for (const k of DERIVED) delete computed[k];
    return { ...inputs, ...(JSON.parse(JSON.stringify(computed)) as PlainObject) };
}

export const sqlDelta: ResourceLifecycle = {
    secretPaths: SQL_SECRET_PATHS,
    async check(ctx, olds, news) {
        const inputs: PlainObject = { ...news };
        for (const k of COMPUTED) delete inputs[k];
        const r = lifecycle.check(Object.keys(olds).length ? toLegacy(ctx, olds) : {}, toLegacy(ctx, inputs));
        return { inputs, failures: r.failures };
    },
    async diff(ctx, _id, olds, news) {
        const r = lifecycle.diff(toLegacy(ctx, olds, true), toLegacy(ctx, news));
        return { ...r, detailedDiff: undefined };
    },
    async create(ctx, inputs, preview) {
        if (preview) return { id: "", outputs: { ...inputs, appliedAt: UNKNOWN, outcome: UNKNOWN, instanceId: UNKNOWN } };
        const r = await lifecycle.create(toLegacy(ctx, inputs), { log: (l) => ctx.log(l) });
        return { id: r.id, outputs: fromLegacy(inputs, r.outs) };
    },
    async update(ctx, _id, olds, news, _oldInputs, preview) {
        if (preview) return { outputs: { ...olds, ...news } };
        const r = await lifecycle.update(toLegacy(ctx, olds, true), toLegacy(ctx, news), { log: (l) => ctx.log(l) });
        return { outputs: fromLegacy(news, r.outs) };
    },
    async delete(ctx, _id, outputs) {
        await lifecycle.remove(toLegacy(ctx, outputs, true), { log: (l) => ctx.log(l) });
    },
    async read(ctx, id, outputs, inputs) {
        const r = await lifecycle.read(id, toLegacy(ctx, outputs, true));
        return r.id ? { id: r.id, outputs: { ...outputs, appliedAt: (r.props.appliedAt as string) ?? outputs.appliedAt }, inputs } : { id: "", outputs: {}, inputs: {} };
    },
};
