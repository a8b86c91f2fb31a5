import * as pulumi from "@pulumi/pulumi";
import { DeltaDeployment, LastDelta } from "../../components/deltaDeployment";
import type { DeltaFleetArgs, FleetRollout } from "../../components/deltaFleet";

/** Every problem with the fleet-only inputs, each naming the input and the fix. */
export function fleetProblems(args: { hosts?: unknown; rollout?: unknown; connection?: unknown }): string[] {
    const problems: string[] = [];
    if (args.connection !== undefined) problems.push("connection is per host in a fleet; move it into each entry of hosts");
    const hosts = args.hosts;
    const names: string[] = [];
    if (!Array.isArray(hosts) || hosts.length === 0) {
        problems.push(`hosts must be a non-empty list of { name, connection }, got ${JSON.stringify(hosts)}`);
    } else {
        hosts.forEach((h: unknown, i) => {
            const host = (h ?? {}) as { name?: unknown; connection?: unknown };
            if (typeof host.name !== "string" || host.name.trim() === "") {
                problems.push(`hosts[${i}].name must be a non-empty string, got ${JSON.stringify(host.name)}`);
            } else if (names.includes(host.name)) {
                problems.push(`hosts[${i}].name ${JSON.stringify(host.name)} is already used by hosts[${names.indexOf(host.name)}]; give each host its own name`);
            } else names.push(host.name);
            if (host.connection === undefined || host.connection === null) problems.push(`hosts[${i}].connection is required; give the host's SSH connection`);
        });
    }
    if (args.rollout !== undefined) {
        const r = (args.rollout ?? {}) as { canary?: unknown; batchSize?: unknown };
        if (r.canary !== undefined && (typeof r.canary !== "string" || (Array.isArray(hosts) && !names.includes(r.canary)))) {
            problems.push(`rollout.canary must be the name of one of the hosts (${names.map((n) => JSON.stringify(n)).join(", ")}), got ${JSON.stringify(r.canary)}`);
        }
        if (r.batchSize !== undefined && !(Number.isInteger(r.batchSize) && (r.batchSize as number) > 0)) {
            problems.push(`rollout.batchSize must be a whole number of hosts, 1 or more, got ${JSON.stringify(r.batchSize)}`);
        }
    }
    return problems;
}

/**
 * The rollout as batches of host names: each batch deploys once the one
 * before it has succeeded. The canary, if any, is a batch of its own.
 */
export function rolloutBatches(names: string[], rollout: FleetRollout | undefined): string[][] {
    if (!rollout || (rollout.canary === undefined && rollout.batchSize === undefined)) return [names];
    const rest = names.filter((n) => n !== rollout.canary);
    const size = rollout.batchSize ?? Math.max(rest.length, 1);
    const batches: string[][] = rollout.canary !== undefined ? [[rollout.canary]] : [];
    for (let i = 0; i < rest.length; i += size) batches.push(rest.slice(i, i + size));
    return batches;
}

/**
 * Deploys one source to many hosts: one {@link DeltaDeployment} per host
 * (named `<fleet>-<host>`), which the engine runs in parallel unless
 * `rollout` orders them. The source is walked and hashed once per program
 * run, however many hosts there are.
 */
export class DeltaFleet extends pulumi.ComponentResource {
    /** Each host's deployment, by host name. */
    readonly deployments: Record<string, DeltaDeployment>;
    /** What the last `pulumi up` changed on each host, by host name. */
    declare readonly lastDelta: pulumi.Output<Record<string, LastDelta>>;
    /** sha256 over the manifest deployed to each host, by host name. */
    declare readonly manifestDigest: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: DeltaFleetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("delta:index:DeltaFleet", name, {}, opts);
        const problems = fleetProblems(args as DeltaFleetArgs & { connection?: unknown });
        if (problems.length) throw new Error(`DeltaFleet ${name}: ${problems.join("; ")}`);
        // The rest goes to every host untouched, so inputs DeltaDeployment gains later pass through too.
        const { hosts, rollout, ...shared } = args;
        const byName = new Map(hosts.map((h) => [h.name, h]));
        this.deployments = {};
        let previous: DeltaDeployment[] = [];
        for (const batch of rolloutBatches(hosts.map((h) => h.name), rollout)) {
            const after = previous;
            // The wait goes on the resources inside each deployment, where the engine records it, so that
            // under --continue-on-error it skips them when the previous batch fails. A component's own
            // dependsOn does not reach its children, and a component the engine skips then fails its
            // registerOutputs with "registration isn't pending" instead of naming the host that failed.
            const waitForPrevious: pulumi.ResourceTransformation = ({ resource, props, opts }) =>
                resource instanceof pulumi.CustomResource ? { props, opts: pulumi.mergeOptions(opts, { dependsOn: after }) } : undefined;
            previous = batch.map(
                (hostName) =>
                    (this.deployments[hostName] = new DeltaDeployment(
                        `${name}-${hostName}`,
                        { ...shared, connection: byName.get(hostName)!.connection },
                        // The fleet's own dependsOn (e.g. the VMs) goes to every host's deployment, which hands it on.
                        { parent: this, dependsOn: opts?.dependsOn, ...(after.length ? { transformations: [waitForPrevious] } : {}) },
                    )),
            );
        }
        // In the order of `hosts`, whatever the rollout, so outputs read the same.
        const perHost = <T>(pick: (d: DeltaDeployment) => pulumi.Output<T>): pulumi.Output<Record<string, T>> =>
            pulumi.all(Object.fromEntries(hosts.map((h) => [h.name, pick(this.deployments[h.name])]))) as pulumi.Output<Record<string, T>>;
        this.lastDelta = perHost((d) => d.lastDelta);
        this.manifestDigest = perHost((d) => d.manifestDigest);
        this.registerOutputs({ deployments: this.deployments, lastDelta: this.lastDelta, manifestDigest: this.manifestDigest });
    }
}
