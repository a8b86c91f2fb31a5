import { ConnectionSecrets, isUnknown, joinSecrets, PublicConnection, validateConnection } from "../connection";
import { clientProblems, ClientInputs, databaseProblem, Engine, ENGINES, historyTableProblem, tenantNameProblem } from "../sql";
import type { DeltaFormat } from "../sql";

/**
 * One (tenant, delta) as the provider receives it. It holds the SQL itself,
 * so `pulumi preview --diff` shows what runs where and delete never needs
 * the delta file.
 */
export interface SqlDeltaProviderInputs {
    /** The SqlDeltas component's name, for messages. */
    component: string;
    tenant: string;
    database: string;
    engine: Engine;
    deltaId: string;
    /** The delta's file as the program named it, for messages. */
    file: string;
    format: DeltaFormat;
    up: string;
    /** Absent: irreversible. */
    down?: string;
    checksum: string;
    /** The delta before this one for the same tenant. */
    previous?: string;
    historyTable: string;
    client?: Omit<ClientInputs, "password">;
    /** Secret. */
    password?: string;
    connection?: PublicConnection;
    /** Secret. */
    credentials?: ConnectionSecrets;
    allowIrreversible?: boolean;
    allowOutOfOrder?: boolean;
    statementTimeout?: number;
    /** Written to the history row's applied_by. */
    appliedBy: string;
    /**
     * `<organization>/<project>/<stack>` and this child's URN, written to the
     * row's owner columns. Not compared by diff: after an alias they change
     * alone, and the next write to the row records them.
     */
    ownerStack: string;
    ownerUrn: string;
}

export interface SqlDeltaProviderOutputs extends SqlDeltaProviderInputs {
    /** From the history row (UTC, ISO 8601). */
    appliedAt: string;
    /** "adopted" when the tenant already had the delta recorded with the same checksum. */
    outcome: "applied" | "adopted";
    /**
     * Minted by create (16 hex), kept by update: the history row's
     * owner_instance, and only a delete by this instance runs the down part.
     * Absent in state written by 0.1, which owns the rows 0.1 left unowned.
     */
    instanceId?: string;
}

export interface InputFailure {
    property: string;
    reason: string;
}

function known<T>(v: T): v is Exclude<T, undefined> {
    return v !== undefined && !isUnknown(v);
}

/** Every problem with one child's inputs; values unknown during preview are skipped. */
export function validateInputs(news: Partial<SqlDeltaProviderInputs>): InputFailure[] {
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string | undefined) => reason && failures.push({ property, reason });
    const engine = news.engine;
    if (known(engine) && !ENGINES.includes(engine)) fail("engine", `engine must be one of ${ENGINES.map((e) => `"${e}"`).join(", ")}, got ${JSON.stringify(engine)}`);
    if (known(news.tenant)) fail("tenant", tenantNameProblem(news.tenant, "tenant"));
    if (known(news.database) && known(engine) && ENGINES.includes(engine)) fail("database", databaseProblem(news.database, engine, "database"));
    if (known(news.historyTable) && known(engine) && ENGINES.includes(engine)) fail("historyTable", historyTableProblem(news.historyTable, engine));
    if (known(news.client) && known(engine)) {
        const client = { ...news.client, ...(known(news.password) ? { password: news.password } : {}) };
        for (const p of clientProblems(client as ClientInputs, engine)) fail("client", p);
    }
    const timeout = news.statementTimeout;
    if (known(timeout) && !(typeof timeout === "number" && timeout > 0)) fail("statementTimeout", `statementTimeout must be a number of seconds above 0, got ${JSON.stringify(timeout)}`);
    if (known(news.connection)) {
        for (const reason of validateConnection(joinSecrets(news.connection, known(news.credentials) ? news.credentials : undefined))) fail("connection", reason);
    }
    return failures;
}
