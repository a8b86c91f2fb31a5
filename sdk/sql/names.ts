/** The database engines SqlDeltas drives, each through its own command-line client. */
export type Engine = "postgres" | "sqlite";
export const ENGINES: readonly Engine[] = ["postgres", "sqlite"];

/** One tenant as users write it: a name, or a name and its database. */
export type TenantSpec = string | { name: string; database?: string };

/** One tenant, resolved: `database` is a PostgreSQL database name or an SQLite file path on the host. */
export interface Tenant {
    name: string;
    database: string;
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const PG_DATABASE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;
const SQLITE_PATH = /^\/[A-Za-z0-9_.\/-]{1,4000}$/;
const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function show(v: unknown): string {
    return JSON.stringify(v) ?? String(v);
}

/** Why a tenant name is refused, or undefined. Names become resource names and advisory-lock keys, so they stay plain. */
export function tenantNameProblem(name: unknown, where: string): string | undefined {
    if (typeof name === "string" && TENANT.test(name)) return undefined;
    return `${where} must be 1-63 letters, digits, "_" or "-", starting with a letter or digit (it names resources and, by default, the database), got ${show(name)}`;
}

/** Why a database name or path is refused, or undefined. */
export function databaseProblem(db: unknown, engine: Engine, where: string): string | undefined {
    if (engine === "postgres") {
        if (typeof db === "string" && PG_DATABASE.test(db)) return undefined;
        return `${where} must be a PostgreSQL database name of 1-63 letters, digits, "_", "." or "-", got ${show(db)}`;
    }
    if (typeof db === "string" && SQLITE_PATH.test(db) && !db.split("/").includes("..")) return undefined;
    if (typeof db === "string" && PG_DATABASE.test(db)) return undefined;
    return `${where} must be an absolute path on the host of letters, digits, "_", ".", "-" and "/" (no ".."), such as "/var/lib/app/acme.db", or a plain name resolved in databaseDir, got ${show(db)}`;
}

/**
 * Resolves and checks the tenants: every problem at once, each naming the
 * input. SQLite databases given as plain names live in `databaseDir` as
 * `<name>.db`.
 */
export function resolveTenants(value: unknown, engine: Engine, databaseDir?: string): { tenants: Tenant[]; problems: string[] } {
    const problems: string[] = [];
    const tenants: Tenant[] = [];
    if (!Array.isArray(value) || value.length === 0) {
        return { tenants, problems: [`tenants must be a non-empty list such as ["acme", "globex"] or [{ name: "acme", database: "acme_prod" }], got ${show(value)}`] };
    }
    if (databaseDir !== undefined && databaseProblem(databaseDir, "sqlite", "databaseDir") !== undefined) {
        problems.push(`databaseDir must be an absolute folder path on the host such as "/var/lib/app/tenants", got ${show(databaseDir)}`);
    }
    value.forEach((spec: unknown, i) => {
        const where = `tenants[${i}]`;
        const obj = typeof spec === "object" && spec !== null && !Array.isArray(spec) ? (spec as Record<string, unknown>) : undefined;
        if (typeof spec !== "string" && !obj) {
            problems.push(`${where} must be a tenant name or { name, database }, got ${show(spec)}`);
            return;
        }
        const name = obj ? obj.name : spec;
        const p = tenantNameProblem(name, obj ? `${where}.name` : where);
        if (p) {
            problems.push(p);
            return;
        }
        let database = obj && obj.database !== undefined ? obj.database : name;
        const dp = databaseProblem(database, engine, obj && obj.database !== undefined ? `${where}.database` : `${where} (its database)`);
        if (dp) {
            problems.push(dp);
            return;
        }
        if (engine === "sqlite" && !(database as string).startsWith("/")) {
            if (databaseDir === undefined) {
                problems.push(`${where}: an SQLite database is a file on the host; give { name: ${show(name)}, database: "/path/${name}.db" } or set databaseDir`);
                return;
            }
            database = `${databaseDir.replace(/\/+$/, "")}/${database}.db`;
        }
        tenants.push({ name: name as string, database: database as string });
    });
    const seen = new Map<string, string>();
    const seenDb = new Map<string, string>();
    for (const t of tenants) {
        if (seen.has(t.name)) problems.push(`tenants: ${show(t.name)} is listed twice; list each tenant once`);
        else if (seenDb.has(t.database)) problems.push(`tenants: ${show(seenDb.get(t.database))} and ${show(t.name)} share the database ${show(t.database)}; each tenant needs its own`);
        seen.set(t.name, t.name);
        seenDb.set(t.database, t.name);
    }
    return { tenants, problems };
}

/** Why a history table name is refused, or undefined. PostgreSQL accepts `schema.table`. */
export function historyTableProblem(table: unknown, engine: Engine): string | undefined {
    const parts = typeof table === "string" ? table.split(".") : [];
    const ok = parts.length >= 1 && parts.length <= (engine === "postgres" ? 2 : 1) && parts.every((p) => TABLE.test(p));
    if (ok) return undefined;
    const shape = engine === "postgres" ? `a table name such as "delta_history" or "ops.delta_history"` : `a table name such as "delta_history"`;
    return `historyTable must be ${shape} (letters, digits and "_", at most 63 each), got ${show(table)}`;
}

/** An SQL identifier, double-quoted; dotted names are quoted part by part. */
export function quoteIdent(name: string): string {
    return name
        .split(".")
        .map((p) => `"${p.replace(/"/g, '""')}"`)
        .join(".");
}

/** An SQL string literal in the standard form both engines read the same way. */
export function quoteLiteral(value: string): string {
    if (value.includes("\0")) throw new Error(`an SQL string cannot hold a NUL character: ${show(value)}`);
    return `'${value.replace(/'/g, "''")}'`;
}

/** One word for a POSIX shell (and csh/fish alike): single-quoted, with `'` spelled `'\''`. */
export function shellQuote(arg: string): string {
    if (/^[A-Za-z0-9_\/.=:,@+-]+$/.test(arg)) return arg;
    return `'${arg.replace(/'/g, `'\\''`)}'`;
}
