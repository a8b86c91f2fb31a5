import type * as pulumi from "@pulumi/pulumi";
import type { DeltaFleetArgs, FleetHost } from "../../components/deltaFleet";
import type { SqlDeltasArgs } from "../../components/sqlDeltas";
import type { ComponentConstructor } from "../resources/types";
import { DeltaFleet } from "./deltaFleet";
import { partOf, settle } from "./inputs";
import { SqlDeltas } from "./sqlDeltas";

/** The fleet's args with `hosts` and `rollout` plain: each host's connection keeps the secrecy and dependencies of `hosts`. */
async function fleetArgs(inputs: Record<string, unknown>): Promise<DeltaFleetArgs> {
    const hosts = await settle(inputs.hosts);
    const rollout = await settle(inputs.rollout);
    const list = Array.isArray(hosts.value)
        ? (hosts.value as (Partial<FleetHost> | null)[]).map((h) =>
              h && typeof h === "object" ? { ...h, connection: h.connection === undefined || h.connection === null ? h.connection : partOf(inputs.hosts, h.connection, hosts.secret) } : h,
          )
        : hosts.value;
    return { ...inputs, hosts: list, rollout: rollout.value } as unknown as DeltaFleetArgs;
}

/** SqlDeltas' args with what decides its children plain; `client` as given, for the children, and plain for the checks. */
async function sqlDeltasArgs(inputs: Record<string, unknown>): Promise<{ args: SqlDeltasArgs; plainClient: unknown }> {
    const plain: Record<string, unknown> = {};
    for (const k of ["deltas", "tenants", "engine", "historyTable", "databaseDir"]) plain[k] = (await settle(inputs[k])).value;
    return { args: { ...inputs, ...plain } as unknown as SqlDeltasArgs, plainClient: (await settle(inputs.client)).value };
}

/** The components the plugin constructs, by type token: each runs its constructor here and returns its outputs. */
export const COMPONENTS: Record<string, ComponentConstructor> = {
    "delta:index:DeltaFleet": {
        async construct(name, inputs, options) {
            const c = new DeltaFleet(name, await fleetArgs(inputs), options as pulumi.ComponentResourceOptions);
            return { urn: c.urn, state: { deployments: c.deployments, lastDelta: c.lastDelta, manifestDigest: c.manifestDigest } };
        },
    },
    "delta:index:SqlDeltas": {
        async construct(name, inputs, options) {
            const { args, plainClient } = await sqlDeltasArgs(inputs);
            const c = new SqlDeltas(name, args, options as pulumi.ComponentResourceOptions, plainClient as SqlDeltasArgs["client"]);
            return { urn: c.urn, state: { applied: c.applied } };
        },
    },
};
