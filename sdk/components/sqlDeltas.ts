import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "../connection";
import type { Engine, TenantSpec } from "../sql";
import { withVersion } from "./package";

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

/** The type token of the component; the plugin constructs it, with one `delta:index:SqlDelta` child per tenant and delta. */
export const SQL_DELTAS_TYPE = "delta:index:SqlDeltas";

/**
 * Applies every SQL delta in `deltas` (in file order) to each tenant
 * database that lacks it, and reverts them (newest first) when removed.
 * See docs/sql-deltas.md.
 */
export class SqlDeltas extends pulumi.ComponentResource {
    /** Delta ids applied per tenant, in order. */
    declare readonly applied: pulumi.Output<Record<string, string[]>>;

    constructor(name: string, args: SqlDeltasArgs, opts?: pulumi.ComponentResourceOptions) {
        super(SQL_DELTAS_TYPE, name, { ...args, applied: undefined }, withVersion(opts), true);
    }
}
