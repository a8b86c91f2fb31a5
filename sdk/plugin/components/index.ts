import * as pulumi from "@pulumi/pulumi";
import type { DeltaFleetArgs, FleetHost } from "../../components/deltaFleet";
import type { SqlDeltasArgs } from "../../components/sqlDeltas";
import type { ComponentConstructor } from "../resources/types";
import { DeltaFleet } from "./deltaFleet";
import { SqlDeltas } from "./sqlDeltas";

/** The SDK's own way to wait for an Output's value (internal to it; undefined while unknown in a preview). */
function valueOf<T>(o: pulumi.Output<T>): Promise<T | undefined> {
    return (o as unknown as { promise(): Promise<T | undefined> }).promise();
}

/**
 * A component's structure (which children it has, and their names) must be
 * known when it is constructed. An input that arrives as an Output (it holds
 * a secret, or depends on a resource) is waited for; the parts that go on
 * to the children stay Outputs, so their secrets and dependencies go too.
 */
async function known<T>(component: string, input: string, v: unknown): Promise<T> {
    if (!pulumi.Output.isInstance(v)) return v as T;
    const value = await valueOf(v as pulumi.Output<T>);
    if (value === undefined) throw new Error(`${component}: ${input} must be known when the program runs (it decides the children); it depends on a value that is only known after an update`);
    return value;
}

/** The components the plugin constructs, by type token: each runs its constructor here and returns its outputs. */
export const COMPONENTS: Record<string, ComponentConstructor> = {
    "delta:index:DeltaFleet": {
        async construct(name, inputs, options) {
            const raw = inputs.hosts;
            const plain = await known<FleetHost[]>(`DeltaFleet ${name}`, "hosts", raw);
            const hosts = pulumi.Output.isInstance(raw) && Array.isArray(plain)
                ? plain.map((h, i) => ({ name: h?.name, connection: (raw as pulumi.Output<FleetHost[]>).apply((hs) => hs[i].connection) }))
                : plain;
            const rollout = await known<DeltaFleetArgs["rollout"]>(`DeltaFleet ${name}`, "rollout", inputs.rollout);
            const args = { ...inputs, hosts, rollout } as unknown as DeltaFleetArgs;
            const c = new DeltaFleet(name, args, options as pulumi.ComponentResourceOptions);
            return { urn: c.urn, state: { deployments: c.deployments, lastDelta: c.lastDelta, manifestDigest: c.manifestDigest } };
        },
    },
    "delta:index:SqlDeltas": {
        async construct(name, inputs, options) {
            const structure: Record<string, unknown> = {};
            for (const k of ["deltas", "tenants", "engine", "historyTable", "databaseDir"]) structure[k] = await known(`SqlDeltas ${name}`, k, inputs[k]);
            const c = new SqlDeltas(name, { ...inputs, ...structure } as unknown as SqlDeltasArgs, options as pulumi.ComponentResourceOptions);
            return { urn: c.urn, state: { applied: c.applied } };
        },
    },
};
