import * as pulumi from "@pulumi/pulumi";
import { hostKeyProblems } from "./transport/hostKeys";

/**
 * How to reach a host over SSH. The field names are those of
 * `@pulumi/command`'s `remote.ConnectionArgs`, so one value serves both; the
 * difference is host-key checking, which is on by default here.
 */
export interface ConnectionArgs {
    /** Host name or IP address to connect to. Required. */
    host: pulumi.Input<string>;
    /** SSH port. Default: 22. */
    port?: pulumi.Input<number>;
    /** User to log in as. Default: "root". */
    user?: pulumi.Input<string>;
    /** Password for password authentication. Kept a secret in state. */
    password?: pulumi.Input<string>;
    /** Private key (OpenSSH or PEM text, not a path) for key authentication. Kept a secret in state. */
    privateKey?: pulumi.Input<string>;
    /** Passphrase of an encrypted `privateKey`. Kept a secret in state. */
    privateKeyPassword?: pulumi.Input<string>;
    /** Path of an ssh-agent socket. Default: `$SSH_AUTH_SOCK` when no key or password is given. */
    agentSocketPath?: pulumi.Input<string>;
    /**
     * The host's public key, pinned: an OpenSSH public-key line such as
     * `ssh-ed25519 AAAAC3Nza…` (what `ssh-keyscan` prints, with or without the
     * host name in front) or a `SHA256:…` fingerprint. Several may be given,
     * one per line. Default: the runner's `~/.ssh/known_hosts` and
     * `/etc/ssh/ssh_known_hosts`; an unknown host is an error.
     */
    hostKey?: pulumi.Input<string>;
    /** Skip host-key verification entirely. Default: false. Only for throwaway hosts. */
    insecureIgnoreHostKey?: pulumi.Input<boolean>;
    /**
     * A bastion (jump host) to tunnel through, described the same way (its
     * own `hostKey` is checked too, and it may have a `proxy` of its own).
     * The bastion opens the TCP connection to `host:port`, so `host` is
     * resolved and reached from the bastion, as with `ssh -J`. Errors name
     * it as `proxy user@host:port (connection.proxy)`. Default: none.
     */
    proxy?: pulumi.Input<ConnectionArgs>;
    /**
     * How many times to dial before giving up; -1 retries forever. Timeouts
     * and dropped handshakes are dialed again. A refused connection (or one
     * closed before any SSH greeting) fails at once unless this is set, to
     * wait for a host that is still starting; a port that answers but does
     * not speak SSH always fails at once. Default: 10.
     */
    dialErrorLimit?: pulumi.Input<number>;
    /** Seconds to wait for one dial (TCP connect and SSH handshake). Default: 15. */
    perDialTimeout?: pulumi.Input<number>;
}

/** Plain (resolved) form of {@link ConnectionArgs}, as providers receive it. */
export interface ConnectionInputs {
    host: string;
    port?: number;
    user?: string;
    password?: string;
    privateKey?: string;
    privateKeyPassword?: string;
    agentSocketPath?: string;
    hostKey?: string;
    insecureIgnoreHostKey?: boolean;
    proxy?: ConnectionInputs;
    dialErrorLimit?: number;
    perDialTimeout?: number;
}

/** The secret fields, which travel apart from the rest so previews can show the host. */
export interface ConnectionSecrets {
    password?: string;
    privateKey?: string;
    privateKeyPassword?: string;
    proxy?: ConnectionSecrets;
}

export type PublicConnection = Omit<ConnectionInputs, "password" | "privateKey" | "privateKeyPassword" | "proxy"> & {
    proxy?: PublicConnection;
};

export const DEFAULT_PORT = 22;
export const DEFAULT_USER = "root";
export const DEFAULT_DIAL_ERROR_LIMIT = 10;
export const DEFAULT_PER_DIAL_TIMEOUT = 15;

/** The value the engine sends for an input it does not know yet (during preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(v: unknown): boolean {
    return v === UNKNOWN;
}

/** Splits a connection into what may be shown and what must stay secret. */
export function splitSecrets(c: ConnectionInputs): { connection: PublicConnection; secrets: ConnectionSecrets } {
    const { password, privateKey, privateKeyPassword, proxy, ...rest } = c;
    const secrets: ConnectionSecrets = {};
    if (password !== undefined) secrets.password = password;
    if (privateKey !== undefined) secrets.privateKey = privateKey;
    if (privateKeyPassword !== undefined) secrets.privateKeyPassword = privateKeyPassword;
    const connection: PublicConnection = { ...rest };
    if (proxy) {
        const inner = splitSecrets(proxy);
        connection.proxy = inner.connection;
        if (Object.keys(inner.secrets).length) secrets.proxy = inner.secrets;
    }
    return { connection, secrets };
}

export function joinSecrets(connection: PublicConnection, secrets: ConnectionSecrets | undefined): ConnectionInputs {
    const { proxy, ...rest } = connection;
    const joined: ConnectionInputs = { ...rest, ...(secrets ?? {}), proxy: undefined };
    delete joined.proxy;
    if (proxy) joined.proxy = joinSecrets(proxy, secrets?.proxy);
    return joined;
}

/** For messages: user@host:port. */
export function describeConnection(c: Pick<ConnectionInputs, "host" | "port" | "user">): string {
    return `${c.user ?? DEFAULT_USER}@${c.host}:${c.port ?? DEFAULT_PORT}`;
}

function show(v: unknown): string {
    return JSON.stringify(v);
}

/**
 * Every problem with a connection, each naming the input (`prefix.field`),
 * the bad value and the fix. Unknown values (preview) are skipped.
 */
export function validateConnection(c: unknown, prefix = "connection"): string[] {
    if (c === undefined || isUnknown(c)) return [];
    if (c === null || typeof c !== "object" || Array.isArray(c)) {
        return [`${prefix} must be an object such as { host: "10.0.0.5", user: "deploy", privateKey }, got ${show(c)}`];
    }
    const v = c as Record<string, unknown>;
    const problems: string[] = [];
    const known = new Set([
        "host", "port", "user", "password", "privateKey", "privateKeyPassword", "agentSocketPath",
        "hostKey", "insecureIgnoreHostKey", "proxy", "dialErrorLimit", "perDialTimeout",
    ]);
    for (const key of Object.keys(v)) {
        if (!known.has(key) && v[key] !== undefined) {
            problems.push(`${prefix}.${key} is not a connection field; the fields are ${[...known].join(", ")}`);
        }
    }
    const str = (k: string, required = false) => {
        const x = v[k];
        if (x === undefined || isUnknown(x)) {
            if (required && x === undefined) problems.push(`${prefix}.${k} is required: the host name or IP address to connect to`);
            return;
        }
        if (typeof x !== "string" || (required && x.trim() === "")) {
            problems.push(`${prefix}.${k} must be a non-empty string, got ${k === "password" || k.startsWith("privateKey") ? "a " + typeof x : show(x)}`);
        }
    };
    str("host", true);
    str("user");
    str("password");
    str("privateKey");
    str("privateKeyPassword");
    str("agentSocketPath");
    str("hostKey");
    const int = (k: string, lo: number, hi: number, what: string) => {
        const x = v[k];
        if (x === undefined || isUnknown(x)) return;
        if (typeof x !== "number" || !Number.isInteger(x) || x < lo || x > hi) {
            problems.push(`${prefix}.${k} must be ${what}, got ${show(x)}`);
        }
    };
    int("port", 1, 65535, "a TCP port between 1 and 65535");
    int("dialErrorLimit", -1, 1_000_000, "a whole number of dials (-1 retries forever)");
    if (v.perDialTimeout !== undefined && !isUnknown(v.perDialTimeout)) {
        const t = v.perDialTimeout;
        if (typeof t !== "number" || !(t > 0)) problems.push(`${prefix}.perDialTimeout must be a number of seconds above 0, got ${show(t)}`);
    }
    if (v.insecureIgnoreHostKey !== undefined && !isUnknown(v.insecureIgnoreHostKey) && typeof v.insecureIgnoreHostKey !== "boolean") {
        problems.push(`${prefix}.insecureIgnoreHostKey must be true or false, got ${show(v.insecureIgnoreHostKey)}`);
    }
    if (typeof v.privateKey === "string" && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v.privateKey)) {
        problems.push(
            `${prefix}.privateKey must be the key's text (-----BEGIN … PRIVATE KEY-----), not a path; read it with fs.readFileSync(path, "utf8")`,
        );
    }
    if (typeof v.hostKey === "string" && !isUnknown(v.hostKey)) {
        // Checked here, in preview, rather than when the first dial reads it.
        const at = { host: typeof v.host === "string" && !isUnknown(v.host) ? v.host : undefined, port: typeof v.port === "number" ? v.port : undefined };
        problems.push(...hostKeyProblems(v.hostKey, prefix, at));
    }
    if (v.insecureIgnoreHostKey === true && typeof v.hostKey === "string") {
        problems.push(`${prefix}.hostKey and ${prefix}.insecureIgnoreHostKey: true contradict each other; keep only hostKey`);
    }
    if (v.proxy !== undefined) problems.push(...validateConnection(v.proxy, `${prefix}.proxy`));
    return problems;
}
