import * as pulumi from "@pulumi/pulumi";
import { SqlDelta as SqlDeltaResource } from "../../components/sqlDelta";
import type { SqlDeltasArgs } from "../../components/sqlDeltas";
import { Engine, ENGINES, historyTableProblem, loadDeltas, resolveTenants, SqlDelta } from "../../sql";

function checkedArgs(name: string, args: SqlDeltasArgs, client: SqlDeltasArgs["client"]): { engine: Engine; deltas: SqlDelta[]; tenants: { name: string; database: string }[]; historyTable: string } {
    const problems: string[] = [];
    const engine = args.engine ?? "postgres";
    if (!ENGINES.includes(engine)) problems.push(`engine must be one of ${ENGINES.map((e) => `"${e}"`).join(", ")}, got ${JSON.stringify(engine)}`);
    const e: Engine = ENGINES.includes(engine) ? engine : "postgres";
    const { tenants, problems: tenantProblems } = resolveTenants(args.tenants, e, args.databaseDir);
    problems.push(...tenantProblems);
    const historyTable = args.historyTable ?? "delta_history";
    const tableProblem = historyTableProblem(historyTable, e);
    if (tableProblem) problems.push(tableProblem);
    if (client && e === "sqlite") {
        for (const k of ["host", "port", "user", "password"] as const) {
            if (client[k] !== undefined) problems.push(`client.${k} does not apply to engine "sqlite" (a file on the host); remove it`);
        }
    }
    let deltas: SqlDelta[] = [];
    if (typeof args.deltas !== "string" || args.deltas === "") problems.push(`deltas must be a local folder of .sql files such as "./deltas", got ${JSON.stringify(args.deltas)}`);
    else {
        try {
            deltas = loadDeltas(args.deltas);
        } catch (err) {
            problems.push((err as Error).message);
        }
    }
    if (problems.length) throw new Error(`SqlDeltas ${name}: ${problems.length === 1 ? problems[0] : "\n  " + problems.join("\n  ").replace(/\n(?!  )/g, "\n  ")}`);
    return { engine: e, deltas, tenants, historyTable };
}

/**
 * Applies reversible SQL deltas to every tenant database that lacks them,
 * in order, one child resource per (tenant, delta); removing a delta or
 * destroying runs its down part, newest first. Each tenant's history table
 * is the cross-check of what Pulumi state says it has, and names the one
 * child (stack, URN, instance id) whose delete may run the down part.
 */
export class SqlDeltas extends pulumi.ComponentResource {
    /** Delta ids applied per tenant, in order. */
    declare readonly applied: pulumi.Output<Record<string, string[]>>;

    /** `plainClient`: `client` as plain data, for the checks (the children get `client` as given, secrets and all). */
    constructor(name: string, args: SqlDeltasArgs, opts?: pulumi.ComponentResourceOptions, plainClient: SqlDeltasArgs["client"] = args.client) {
        super("delta:index:SqlDeltas", name, {}, opts);
        const { engine, deltas, tenants, historyTable } = checkedArgs(name, args, plainClient);
        const shared = {
            component: name,
            engine,
            historyTable,
            client: args.client,
            connection: args.connection,
            allowIrreversible: args.allowIrreversible ?? false,
            allowOutOfOrder: args.allowOutOfOrder ?? false,
            statementTimeout: args.statementTimeout,
        };
        const perTenant: pulumi.Output<string>[][] = [];
        for (const tenant of tenants) {
            let previous: SqlDeltaResource | undefined;
            let previousId: string | undefined;
            const ids: pulumi.Output<string>[] = [];
            for (const d of deltas) {
                // Chained, so up runs in file order and destroy reverts newest first; tenants stay independent.
                const child: SqlDeltaResource = new SqlDeltaResource(
                    `${name}-${tenant.name}-${d.id}`,
                    {
                        ...shared,
                        tenant: tenant.name,
                        database: tenant.database,
                        deltaId: d.id,
                        file: d.file,
                        format: d.format,
                        up: d.up,
                        down: d.down,
                        checksum: d.checksum,
                        previous: previousId,
                    },
                    { parent: this, dependsOn: previous ? [previous] : [] },
                );
                ids.push(child.deltaId);
                previous = child;
                previousId = d.id;
            }
            perTenant.push(ids);
        }
        this.applied = pulumi
            .all(perTenant.map((ids) => pulumi.all(ids)))
            .apply((lists) => Object.fromEntries(tenants.map((t, i) => [t.name, lists[i]])));
        this.registerOutputs({ applied: this.applied });
    }
}
