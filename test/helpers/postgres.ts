import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { freePort } from "./sshd";

/** Debian's server binaries, newest version installed (15 on bookworm). */
function serverBin(): string {
    const root = "/usr/lib/postgresql";
    const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "pg_ctl"))) : [];
    const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
    if (!newest) throw new Error(`PostgreSQL is not installed (no ${root}/<version>/bin/pg_ctl): apt-get install -y postgresql`);
    return path.join(root, newest, "bin");
}

/** A throwaway PostgreSQL server (15 on Debian bookworm) on 127.0.0.1, run as the `postgres` user from a temp data dir. */
export interface Postgres {
    host: string;
    port: number;
    /** Folder of the server's Unix socket (trust auth for local connections, for assertions). */
    socketDir: string;
    /** A login role with a password, for the code under test (password auth over TCP). */
    user: string;
    password: string;
    createDatabase(name: string): void;
    /** Runs SQL as the superuser over the socket; returns psql's unaligned, tuples-only output, trimmed. */
    query(database: string, sql: string): string;
    stop(): Promise<void>;
}

function asPostgres(bin: string, cmd: string, args: string[]): string {
    return execFileSync("runuser", ["-u", "postgres", "--", path.join(bin, cmd), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * Starts a server: initdb, then pg_ctl on a free port. Needs root (to run as
 * `postgres`) and Debian's postgresql package (scripts/host-deps.sh installs it). The data dir's parents are
 * made traversable because initdb runs as `postgres`.
 */
export async function startPostgres(): Promise<Postgres> {
    const bin = serverBin();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pd-pg-"));
    fs.chmodSync(dir, 0o755);
    execFileSync("chown", ["postgres:postgres", dir]);
    const data = path.join(dir, "data");
    const pwfile = path.join(dir, "pw");
    const password = "pg-" + Math.random().toString(36).slice(2);
    fs.writeFileSync(pwfile, "superuser-unused\n");
    execFileSync("chown", ["postgres", pwfile]);
    asPostgres(bin, "initdb", ["-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", `--pwfile=${pwfile}`, "-E", "UTF8", "--locale=C.UTF-8"]);
    const port = await freePort();
    const log = path.join(dir, "server.log");
    asPostgres(bin, "pg_ctl", [
        "-D", data, "-l", log, "-w", "-t", "30",
        "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
        "start",
    ]);
    const query = (database: string, sql: string): string =>
        execFileSync(path.join(bin, "psql"), ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", dir, "-p", String(port), "-U", "postgres", "-d", database], {
            input: sql,
            encoding: "utf8",
            stdio: ["pipe", "pipe", "pipe"],
        }).trim();
    const user = "app";
    query("postgres", `CREATE ROLE ${user} LOGIN PASSWORD '${password}' CREATEDB;`);
    return {
        host: "127.0.0.1",
        port,
        socketDir: dir,
        user,
        password,
        createDatabase: (name) => {
            query("postgres", `CREATE DATABASE "${name}" OWNER ${user};`);
        },
        query,
        stop: async () => {
            try {
                asPostgres(bin, "pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        },
    };
}
