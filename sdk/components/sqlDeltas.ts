import * as pulumi from "@pulumi/pulumi";
import { ConnectionArgs, ConnectionInputs, splitSecrets } from "../connection";
import type { SqlDeltaProviderInputs } from "../providers/sqlDeltaInputs";
import { SqlDeltaProvider } from "../providers/sqlDeltaProvider";
import { Engine, ENGINES, historyTableProblem, loadDeltas, resolveTenants, SqlDelta, TenantSpec } from "../sql";

export type { Engine, TenantSpec } from "../sql";

/** How the engine's command-line client, run on the host, reaches the database. */
export interface SqlClientArgs {
    /** Database server as the host sees it (name, IP or socket folder). Default: psql's default, the local socket. */
    host?: pulumi.Input<string>;
    /** Database server port. Default: 5432. */
    port?: pulumi.Input<number>;
    /** Database role. Default: the SSH (or local) user's name, as psql does. */
    user?: pulumi.Input<string>;
    /**
     * Role password. Kept a secret in state; on the host it exists only as a
     * 0600 PGPASSFILE during each run, never on a command line or in an
     * environment. Default: none (peer or trust authentication).
     */
    password?: pulumi.Input<string>;
    /** More arguments for psql or sqlite3, each passed as one word. Default: []. */
    extraArgs?: pulumi.Input<pulumi.Input<string>[]>;
    /** The client program on the host. Default: "psql" or "sqlite3" from PATH. */
    command?: pulumi.Input<string>;
}

export interface SqlDeltasArgs {
    /**
     * Local folder of delta files (`*.sql`, not its subfolders), relative to
     * the Pulumi program or absolute. Required. Each file is in the seed
     * (`-- Reversible delta`), dbmate or goose format; they apply in order
     * of the first number in their name, then by name.
     */
    deltas: string;
    /**
     * The tenant databases: names (`["acme", "globex"]`, database = name) or
     * `{ name, database }`. Required. For SQLite, `database` is a file path
     * on the host, or a plain name resolved in `databaseDir`.
     */
    tenants: TenantSpec[];
    /** "postgres" (psql) or "sqlite" (sqlite3). Default: "postgres". */
    engine?: Engine;
    /**
     * The host that runs the client, over SSH, with @pulumi/command's field
     * names. Default: none, meaning the machine that runs Pulumi.
     */
    connection?: pulumi.Input<ConnectionArgs>;
    /** How the client reaches the database. Default: the client's defaults. */
    client?: SqlClientArgs;
    /** Table recording applied deltas in each tenant database (`schema.table` for PostgreSQL). Default: "delta_history". */
    historyTable?: string;
    /** SQLite only: host folder holding `<database>.db` for tenants whose database is a plain name. Default: none. */
    databaseDir?: string;
    /**
     * Let removing a delta with no down part (or destroying it) only forget
     * it, leaving the database as it is. Default: false (refused).
     */
    allowIrreversible?: pulumi.Input<boolean>;
    /**
     * Let a new delta that sorts before one already applied run anyway.
     * Default: false (refused, naming both).
     */
    allowOutOfOrder?: pulumi.Input<boolean>;
    /** Seconds one statement may run (PostgreSQL), or one delta (SQLite). Default: no limit. */
    statementTimeout?: pulumi.Input<number>;
}

/** The child's type as the engine records it (dynamic.Resource builds it from the module and type below). */
const CHILD_TYPE = "pulumi-nodejs:dynamic/pulumi-delta:SqlDelta";

/** One (tenant, delta); its type shows in previews as `pulumi-nodejs:dynamic/pulumi-delta:SqlDelta`. */
class SqlDeltaResource extends pulumi.dynamic.Resource {
    declare readonly tenant: pulumi.Output<string>;
    declare readonly deltaId: pulumi.Output<string>;
    declare readonly appliedAt: pulumi.Output<string>;

    constructor(name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
        super(new SqlDeltaProvider(), name, props, opts, "pulumi-delta", "SqlDelta");
    }
}

/**
 * `<organization>/<project>/<stack>`. Unit tests under `setMocks` without an
 * organization get "organization", the name a DIY backend reports too.
 */
function stackName(): string {
    let org = "organization";
    try {
        org = pulumi.getOrganization();
    } catch {
        // Mocks without an organization: nothing reaches a database there.
    }
    return `${org}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

function checkedArgs(name: string, args: SqlDeltasArgs): { engine: Engine; deltas: SqlDelta[]; tenants: { name: string; database: string }[]; historyTable: string } {
    const problems: string[] = [];
    const engine = args.engine ?? "postgres";
    if (!ENGINES.includes(engine)) problems.push(`engine must be one of ${ENGINES.map((e) => `"${e}"`).join(", ")}, got ${JSON.stringify(engine)}`);
    const e: Engine = ENGINES.includes(engine) ? engine : "postgres";
    const { tenants, problems: tenantProblems } = resolveTenants(args.tenants, e, args.databaseDir);
    problems.push(...tenantProblems);
    const historyTable = args.historyTable ?? "delta_history";
    const tableProblem = historyTableProblem(historyTable, e);
    if (tableProblem) problems.push(tableProblem);
    if (args.client && e === "sqlite") {
        for (const k of ["host", "port", "user", "password"] as const) {
            if (args.client[k] !== undefined) problems.push(`client.${k} does not apply to engine "sqlite" (a file on the host); remove it`);
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

    constructor(name: string, args: SqlDeltasArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pulumi-delta:index:SqlDeltas", name, {}, opts);
        const { engine, deltas, tenants, historyTable } = checkedArgs(name, args);
        const conn = args.connection ? pulumi.output(args.connection).apply((c) => splitSecrets(c as ConnectionInputs)) : undefined;
        const { password, ...client } = args.client ?? {};
        const appliedBy = `pulumi-delta ${pulumi.getProject()}/${pulumi.getStack()} ${name}`;
        const shared = {
            component: name,
            engine,
            historyTable,
            client: Object.keys(client).length ? client : undefined,
            password: password === undefined ? undefined : pulumi.secret(password),
            connection: conn ? pulumi.unsecret(conn.apply((c) => c.connection)) : undefined,
            credentials: conn ? pulumi.secret(conn.apply((c) => c.secrets)) : undefined,
            allowIrreversible: args.allowIrreversible ?? false,
            allowOutOfOrder: args.allowOutOfOrder ?? false,
            statementTimeout: args.statementTimeout,
            appliedBy,
            ownerStack: stackName(),
        };
        // The component's URN as a bare value. An Output of this.urn would make each child depend on the
        // component, which the SDK expands to all of its children, siblings included: a wait cycle.
        const componentUrn = new Promise<string>((resolve) => this.urn.apply(resolve));
        const perTenant: pulumi.Output<string>[][] = [];
        for (const tenant of tenants) {
            let previous: SqlDeltaResource | undefined;
            let previousId: string | undefined;
            const ids: pulumi.Output<string>[] = [];
            for (const d of deltas) {
                const childName = `${name}-${tenant.name}-${d.id}`;
                const inputs: Record<keyof SqlDeltaProviderInputs | "appliedAt" | "outcome" | "instanceId", unknown> = {
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
                    // The child's own URN, as `pulumi stack --show-urns` and `--replace` spell it: what a person
                    // reading the history row can act on. (A resource cannot take its own urn as an input.)
                    ownerUrn: pulumi.createUrn(childName, CHILD_TYPE, componentUrn),
                    // Outputs only: declared so the engine returns them.
                    appliedAt: undefined,
                    outcome: undefined,
                    instanceId: undefined,
                };
                // Chained, so up runs in file order and destroy reverts newest first; tenants stay independent.
                const child: SqlDeltaResource = new SqlDeltaResource(childName, inputs as pulumi.Inputs, {
                    parent: this,
                    dependsOn: previous ? [previous] : [],
                    additionalSecretOutputs: ["password", "credentials"],
                });
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
