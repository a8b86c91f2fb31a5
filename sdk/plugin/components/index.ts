import type * as pulumi from "@pulumi/pulumi";
import type { DeltaFleetArgs } from "../../components/deltaFleet";
import type { SqlDeltasArgs } from "../../components/sqlDeltas";
import type { ComponentConstructor } from "../resources/types";
import { DeltaFleet } from "./deltaFleet";
import { plainHosts, withPlain } from "./plainInputs";
import { SqlDeltas } from "./sqlDeltas";

/** The components the plugin constructs, by type token: each runs its constructor here and returns its outputs. */
export const COMPONENTS: Record<string, ComponentConstructor> = {
    "delta:index:DeltaFleet": {
        async construct(name, inputs, options) {
            const args = { ...(await withPlain("DeltaFleet", name, inputs, ["rollout"])), hosts: await plainHosts(name, inputs.hosts) };
            const c = new DeltaFleet(name, args as unknown as DeltaFleetArgs, options as pulumi.ComponentResourceOptions);
            return { urn: c.urn, state: { deployments: c.deployments, lastDelta: c.lastDelta, manifestDigest: c.manifestDigest } };
        },
    },
    "delta:index:SqlDeltas": {
        async construct(name, inputs, options) {
            // What names the children and what the constructor checks; client and connection stay as they came (secrets).
            const args = await withPlain("SqlDeltas", name, inputs, ["deltas", "tenants", "engine", "databaseDir", "historyTable"]);
            const c = new SqlDeltas(name, args as unknown as SqlDeltasArgs, options as pulumi.ComponentResourceOptions);
            return { urn: c.urn, state: { applied: c.applied } };
        },
    },
};
