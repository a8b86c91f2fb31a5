#!/usr/bin/env node
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { layoutFor, resolveStateRoot } from "../apply/layout";
import { DeltaRecord, listRecords } from "../apply/records";
import type { ConnectionInputs } from "../connection";
import { connectSsh, LocalTransport, Transport } from "../transport";

const USAGE = `usage: pulumi-delta history <destination> [--show <id>] [--json] [--state-dir <dir>] [-p <port>] [-i <keyfile>] [-o StrictHostKeyChecking=no] [[user@]host]

Lists the delta records DeltaDeployment wrote for <destination> (oldest first),
or prints one with --show. Without a host, reads this machine; with one, reads
it over SSH (host key checked against ~/.ssh/known_hosts unless
-o StrictHostKeyChecking=no). --state-dir is the deployment's stateDir
(default: /var/lib/pulumi-delta as root, else ~/.local/state/pulumi-delta).

pulumi-delta releases <destination> [same flags] lists the kept releases of a
deployment with strategy "releases".`;

export class UsageError extends Error {}

export interface HistoryOptions {
    destination: string;
    show?: string;
    json: boolean;
    stateDir?: string;
    /** Absent: this machine. */
    connection?: ConnectionInputs;
}

function defaultKey(): string | undefined {
    for (const name of ["id_ed25519", "id_ecdsa", "id_rsa"]) {
        const p = path.join(os.homedir(), ".ssh", name);
        if (fs.existsSync(p)) return p;
    }
    return undefined;
}

/** Parses the arguments after `history`, OpenSSH-style for the connection flags. */
export function parseHistoryArgs(argv: string[]): HistoryOptions {
    const positional: string[] = [];
    let show: string | undefined;
    let json = false;
    let stateDir: string | undefined;
    let port: number | undefined;
    let keyFile: string | undefined;
    let insecure = false;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = (): string => {
            const v = argv[++i];
            if (v === undefined) throw new UsageError(`${a} needs a value`);
            return v;
        };
        if (a === "--show") show = value();
        else if (a === "--json") json = true;
        else if (a === "--state-dir") stateDir = value();
        else if (a === "-p") {
            const v = value();
            port = Number(v);
            if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`-p must be a port number, got ${JSON.stringify(v)}`);
        } else if (a === "-i") keyFile = value();
        else if (a === "-o") {
            const v = value();
            const [k, val] = v.split("=");
            if (k.toLowerCase() === "stricthostkeychecking" && val?.toLowerCase() === "no") insecure = true;
            else throw new UsageError(`-o ${v} is not supported; only -o StrictHostKeyChecking=no`);
        } else if (a === "-h" || a === "--help") throw new UsageError("");
        else if (a.startsWith("-")) throw new UsageError(`unknown option ${a}`);
        else positional.push(a);
    }
    if (positional.length < 1 || positional.length > 2) throw new UsageError(positional.length ? `too many arguments: ${positional.join(" ")}` : "<destination> is required");
    const [destination, target] = positional;
    if (!destination.startsWith("/")) throw new UsageError(`<destination> must be the absolute path the deployment targets, got ${JSON.stringify(destination)}`);
    if (!target) return { destination, show, json, stateDir };
    const at = target.lastIndexOf("@");
    const user = at >= 0 ? target.slice(0, at) : os.userInfo().username;
    const host = at >= 0 ? target.slice(at + 1) : target;
    const key = keyFile ?? (process.env.SSH_AUTH_SOCK ? undefined : defaultKey());
    const connection: ConnectionInputs = { host, user, ...(port ? { port } : {}), ...(insecure ? { insecureIgnoreHostKey: true } : {}), dialErrorLimit: 1 };
    if (key) {
        try {
            connection.privateKey = fs.readFileSync(key, "utf8");
        } catch (err) {
            throw new UsageError(`cannot read key file ${key}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
    }
    return { destination, show, json, stateDir, connection };
}

function counts(r: DeltaRecord): string {
    const n = (a: string) => r.changes.filter((c) => c.action === a).length;
    return `${n("create")} created, ${n("update")} updated, ${n("delete")} deleted`;
}

/** The listing: one line per record. */
export function formatHistory(records: DeltaRecord[]): string {
    if (records.length === 0) return "no records\n";
    const rows = records.map((r) => [r.id, r.time, r.operation, counts(r), [r.project, r.stack, r.resource].map((x) => x ?? "?").join("/")]);
    const header = ["ID", "TIME", "OPERATION", "CHANGES", "PROJECT/STACK/RESOURCE"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n") + "\n";
}

/** Prints what the options ask for; returns the text. */
export async function history(o: HistoryOptions): Promise<string> {
    const t: Transport = o.connection ? await connectSsh(o.connection) : new LocalTransport();
    try {
        const layout = layoutFor(await resolveStateRoot(t, o.stateDir), o.destination);
        const records = await listRecords(t, layout);
        if (o.show !== undefined) {
            const r = records.find((x) => x.id === o.show);
            if (!r) throw new UsageError(`no record ${JSON.stringify(o.show)} for ${o.destination} on ${t.host} (in ${layout.records}); run without --show to list them`);
            return JSON.stringify(r, null, 2) + "\n";
        }
        return o.json ? JSON.stringify(records, null, 2) + "\n" : formatHistory(records);
    } finally {
        await t.close();
    }
}

export async function main(argv: string[]): Promise<number> {
    const [command, ...rest] = argv;
    try {
        if (command === "releases") {
            process.stdout.write(await (await import("./releases")).releases(parseHistoryArgs(rest)));
            return 0;
        }
        if (command !== "history") throw new UsageError(command === undefined || command === "-h" || command === "--help" ? "" : `unknown command ${JSON.stringify(command)}`);
        process.stdout.write(await history(parseHistoryArgs(rest)));
        return 0;
    } catch (err) {
        if (err instanceof UsageError) {
            process.stderr.write(`${err.message ? `pulumi-delta: ${err.message}\n` : ""}${command === "releases" ? (await import("./releases")).RELEASES_USAGE : USAGE}\n`);
            return 2;
        }
        process.stderr.write(`pulumi-delta: ${(err as Error).message}\n`);
        return 1;
    }
}

if (require.main === module) {
    void main(process.argv.slice(2)).then((code) => process.exit(code));
}
