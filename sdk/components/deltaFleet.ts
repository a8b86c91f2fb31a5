import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "../connection";
import type { DeltaDeployment, DeltaDeploymentArgs, LastDelta } from "./deltaDeployment";
import { withVersion } from "./package";

/** One host of a {@link DeltaFleet}. */
export interface FleetHost {
    /**
     * The host's name in the fleet: unique and non-empty. It names the host's
     * child deployment (`<fleet>-<name>`), so it appears in previews, errors
     * and records, and keys the fleet's outputs. Required; renaming a host
     * replaces its deployment.
     */
    name: string;
    /** How to reach the host over SSH, as {@link DeltaDeploymentArgs.connection}. Required. */
    connection: pulumi.Input<ConnectionArgs>;
}

/** The order a {@link DeltaFleet} deploys in. Without it every host deploys at once. */
export interface FleetRollout {
    /**
     * Name of the host that deploys first, alone; the other hosts start only
     * once it has succeeded. Default: none (no canary).
     */
    canary?: string;
    /**
     * How many hosts deploy together after the canary, in the order of
     * `hosts`; each batch starts only once the whole previous batch (or the
     * canary) has succeeded. Default: every remaining host in one batch.
     */
    batchSize?: number;
}

/** Every {@link DeltaDeploymentArgs} input but `connection`, applied to each host alike, plus the hosts and their order. */
export type DeltaFleetArgs = Omit<DeltaDeploymentArgs, "connection"> & {
    /** The hosts to deploy to, each with its own connection. Required, at least one. */
    hosts: FleetHost[];
    /**
     * A canary and batches, ordered with `dependsOn`, so that a failed host
     * halts every host behind it. Default: none (all hosts at once).
     */
    rollout?: FleetRollout;
};

/** The type token of the component; the plugin constructs it (`Construct`), so every language gets the same children. */
export const DELTA_FLEET_TYPE = "delta:index:DeltaFleet";

/**
 * One {@link DeltaDeployment} per host (`<fleet>-<host>`), all from one
 * source hashed once, optionally a canary first and then batches. A failed
 * host halts every host behind it in the rollout.
 */
export class DeltaFleet extends pulumi.ComponentResource {
    /** Each host's deployment, by host name. */
    declare readonly deployments: pulumi.Output<Record<string, DeltaDeployment>>;
    /** What the last `pulumi up` changed on each host, by host name. */
    declare readonly lastDelta: pulumi.Output<Record<string, LastDelta>>;
    /** sha256 over the manifest deployed to each host, by host name. */
    declare readonly manifestDigest: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: DeltaFleetArgs, opts?: pulumi.ComponentResourceOptions) {
        super(DELTA_FLEET_TYPE, name, { ...args, deployments: undefined, lastDelta: undefined, manifestDigest: undefined }, withVersion(opts), true);
    }
}
