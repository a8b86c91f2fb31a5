import { Engine, shellQuote } from "./names";

/** How the engine's command-line client reaches the database, as seen from the host. */
export interface ClientInputs {
    /** Database server host (or socket folder) as the host sees it. Default: the client's default (local socket). */
    host?: string;
    /** Database server port. Default: the client's default (5432). */
    port?: number;
    /** Database role. Default: the client's default (the login user's name). */
    user?: string;
    /** Role password, written to a 0600 PGPASSFILE for the run only. Default: none. */
    password?: string;
    /** More arguments for the client, each passed as one word. Default: []. */
    extraArgs?: string[];
    /** The client program on the host. Default: "psql" or "sqlite3" from PATH. */
    command?: string;
}

const HOST = /^[A-Za-z0-9_.:\/\[\]-]{1,255}$/;
const USER = /^[A-Za-z0-9_.@-]{1,63}$/;
const COMMAND = /^[A-Za-z0-9_.\/-]{1,4000}$/;

function show(v: unknown): string {
    return JSON.stringify(v) ?? String(v);
}

/** Every problem with the client inputs, each naming the input and the fix. Unknown (preview) values are skipped by the caller. */
export function clientProblems(c: ClientInputs | undefined, engine: Engine): string[] {
    if (c === undefined) return [];
    const problems: string[] = [];
    if (engine === "sqlite") {
        for (const k of ["host", "port", "user", "password"] as const) {
            if (c[k] !== undefined) problems.push(`client.${k} does not apply to engine "sqlite" (a file on the host); remove it`);
        }
    }
    if (c.host !== undefined && !(typeof c.host === "string" && HOST.test(c.host))) problems.push(`client.host must be a host name, IP address or socket folder, got ${show(c.host)}`);
    if (c.port !== undefined && !(Number.isInteger(c.port) && c.port >= 1 && c.port <= 65535)) problems.push(`client.port must be a TCP port between 1 and 65535, got ${show(c.port)}`);
    if (c.user !== undefined && !(typeof c.user === "string" && USER.test(c.user))) problems.push(`client.user must be a role name of letters, digits, "_", ".", "@" or "-", got ${show(c.user)}`);
    if (c.password !== undefined && (typeof c.password !== "string" || c.password === "" || /[\r\n]/.test(c.password))) {
        problems.push("client.password must be a non-empty string on one line");
    }
    if (c.extraArgs !== undefined && !(Array.isArray(c.extraArgs) && c.extraArgs.every((a) => typeof a === "string"))) {
        problems.push(`client.extraArgs must be a list of strings such as ["--set=search_path=app"], got ${show(c.extraArgs)}`);
    }
    if (c.command !== undefined && !(typeof c.command === "string" && COMMAND.test(c.command))) problems.push(`client.command must be a program name or path such as "/usr/bin/psql", got ${show(c.command)}`);
    return problems;
}

/** A `.pgpass` line matching any server, so the password never reaches a command line or environment. */
export function pgpassLine(password: string): string {
    return `*:*:*:*:${password.replace(/\\/g, "\\\\").replace(/:/g, "\\:")}\n`;
}

/**
 * The psql command line: no psqlrc, never prompt, stop at the first error,
 * unaligned tuples, SQL on stdin (as `-f -`, so errors carry line numbers).
 * Every value is one quoted word: nothing from inputs reaches the shell.
 */
export function psqlCommand(c: ClientInputs, database: string, options: { singleTransaction: boolean; passFile?: string }): string {
    const words = ["env", "LC_MESSAGES=C", "PGAPPNAME=pulumi-delta"];
    if (options.passFile) words.push(`PGPASSFILE=${options.passFile}`);
    words.push(c.command ?? "psql", "-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1");
    if (options.singleTransaction) words.push("--single-transaction");
    if (c.host !== undefined) words.push("-h", c.host);
    if (c.port !== undefined) words.push("-p", String(c.port));
    if (c.user !== undefined) words.push("-U", c.user);
    words.push("-d", database, ...(c.extraArgs ?? []), "-f", "-");
    return words.map(shellQuote).join(" ");
}

/**
 * The sqlite3 command line. The database is opened as a `mode=rw` URI, so a
 * mistyped path fails instead of creating an empty database.
 */
export function sqliteCommand(c: ClientInputs, database: string, options: { bail: boolean }): string {
    const words = ["env", "LC_ALL=C", c.command ?? "sqlite3", "-batch"];
    if (options.bail) words.push("-bail");
    words.push(...(c.extraArgs ?? []), `file:${database}?mode=rw`);
    return words.map(shellQuote).join(" ");
}
