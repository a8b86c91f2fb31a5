import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "../connection";
import type { DeltaFormat, Engine } from "../sql";
import type { SqlClientArgs } from "./sqlDeltas";
import { withVersion } from "./package";

/** One SQL delta on one tenant database: what {@link SqlDeltas} makes per tenant and delta file. */
export interface SqlDeltaArgs {
    /** The tenant's name: 1-63 letters, digits, `_` or `-`. Required. */
    tenant: pulumi.Input<string>;
    /** The tenant's database: a PostgreSQL database name, or for SQLite a file path on the host. Required. */
    database: pulumi.Input<string>;
    /** "postgres" (psql) or "sqlite" (sqlite3). Default: "postgres". */
    engine?: pulumi.Input<Engine>;
    /** The delta's id: its file name without `.sql`. Required. */
    deltaId: pulumi.Input<string>;
    /** The delta's file as the program named it, for messages. Required. */
    file: pulumi.Input<string>;
    /** The delta file's format ("seed", "dbmate" or "goose"). Required. */
    format: pulumi.Input<DeltaFormat>;
    /** The up part, normalized. Required. */
    up: pulumi.Input<string>;
    /** The down part, normalized. Default: none (irreversible). */
    down?: pulumi.Input<string>;
    /** `sha256:<hex>` of `up`. Required. */
    checksum: pulumi.Input<string>;
    /** The id of the delta applied before this one to the same tenant. Default: none (the first). */
    previous?: pulumi.Input<string>;
    /** Table recording applied deltas in the tenant database. Default: "delta_history". */
    historyTable?: pulumi.Input<string>;
    /** How the client reaches the database. */
    client?: SqlClientArgs;
    /** The host that runs the client, over SSH. Default: the machine that runs Pulumi. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** Let deleting this delta without a down part only forget it. Default: false. */
    allowIrreversible?: pulumi.Input<boolean>;
    /** Let this delta run although it sorts before one already applied. Default: false. */
    allowOutOfOrder?: pulumi.Input<boolean>;
    /** Seconds one statement may run (PostgreSQL), or the whole delta (SQLite). Default: no limit. */
    statementTimeout?: pulumi.Input<number>;
    /** The SqlDeltas this delta belongs to, for messages and the history row's `applied_by`. Default: this resource's name. */
    component?: pulumi.Input<string>;
}

export const SQL_DELTA_TYPE = "delta:index:SqlDelta";

export class SqlDelta extends pulumi.CustomResource {
    declare readonly tenant: pulumi.Output<string>;
    declare readonly deltaId: pulumi.Output<string>;
    /** When the delta was applied to the tenant (or adopted). */
    declare readonly appliedAt: pulumi.Output<string>;
    /** "applied", or "adopted" when the tenant already had it with the same checksum. */
    declare readonly outcome: pulumi.Output<string>;
    /** This resource's identity in the tenant's history row, minted when it is created. */
    declare readonly instanceId: pulumi.Output<string>;

    constructor(name: string, args: SqlDeltaArgs, opts?: pulumi.CustomResourceOptions) {
        super(SQL_DELTA_TYPE, name, { ...args, appliedAt: undefined, outcome: undefined, instanceId: undefined }, withVersion(opts));
    }
}
