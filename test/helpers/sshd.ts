import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

/** A throwaway OpenSSH server on 127.0.0.1 with its own host key and one authorized client key. */
export interface Sshd {
    host: string;
    port: number;
    user: string;
    /** The server's public host key line (what ssh-keyscan prints, without the host name). */
    hostKey: string;
    /** The client's private key text (authorized for `user`). */
    privateKey: string;
    privateKeyPath: string;
    dir: string;
    logFile: string;
    /** The connection fields DeltaDeployment takes. */
    connection(): { host: string; port: number; user: string; privateKey: string; hostKey: string };
    stop(): Promise<void>;
}

export interface SshdOptions {
    /** The SFTP subsystem line's command. Default: OpenSSH's sftp-server. */
    sftpServer?: string;
    /** Extra sshd_config lines. */
    extraConfig?: string;
    /**
     * The login user `connection()` names. Default: the user running the
     * tests. sshd reads a user's keys as that user, so for another user the
     * client key must also be in that user's `~/.ssh/authorized_keys`
     * (see {@link authorizeKey}); that file is then accepted too.
     */
    user?: string;
    /** `LogLevel`. Default: INFO. */
    logLevel?: string;
    /** Run sshd inside this network namespace: only processes in it can reach its port. Default: the runner's. */
    netns?: IsolatedNetwork;
    /**
     * With `netns`: serve a loopback port of the runner's namespace instead,
     * handing each connection to `sshd -i` inside the namespace. This server
     * is then the namespace's one way in — a jump host.
     */
    gateway?: boolean;
}

/** A network namespace with only its own loopback: nothing in it is reachable from outside. */
export interface IsolatedNetwork {
    /** A process that holds the namespace open. */
    pid: number;
    /** `nsenter` arguments that run a command inside the namespace. */
    enter: string[];
    stop(): Promise<void>;
}

/** Creates a network namespace (needs CAP_SYS_ADMIN, e.g. root) with its loopback up. */
export async function isolatedNetwork(): Promise<IsolatedNetwork> {
    const holder = spawn("unshare", ["--net", "sh", "-c", "ip link set lo up && echo ready && exec sleep 100000"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    holder.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
        holder.stdout!.once("data", () => resolve());
        holder.once("exit", (code) => reject(new Error(`cannot create a network namespace (unshare --net exited with ${code}: ${err.trim()}); the test needs root with CAP_SYS_ADMIN`)));
    });
    return {
        pid: holder.pid!,
        enter: [`--net=/proc/${holder.pid}/ns/net`],
        stop: async () => {
            if (holder.exitCode === null) {
                const exited = new Promise((r) => holder.once("exit", r));
                holder.kill("SIGTERM");
                await exited;
            }
        },
    };
}

/** Adds the server's client key to `user`'s own ~/.ssh/authorized_keys (for {@link SshdOptions.user}). */
export function authorizeKey(sshd: Sshd, user: string): void {
    const home = execFileSync("getent", ["passwd", user], { encoding: "utf8" }).trim().split(":")[5];
    const ssh = path.join(home, ".ssh");
    fs.mkdirSync(ssh, { recursive: true, mode: 0o700 });
    fs.appendFileSync(path.join(ssh, "authorized_keys"), fs.readFileSync(`${sshd.privateKeyPath}.pub`, "utf8"));
    execFileSync("chown", ["-R", `${user}:`, ssh]);
    fs.chmodSync(path.join(ssh, "authorized_keys"), 0o600);
}

export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
        srv.on("error", reject);
    });
}

function keygen(file: string): void {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "pulumi-delta-test", "-f", file]);
}

/** Waits for sshd to listen: by connecting, or, inside another namespace (unreachable from here), by its log. */
async function waitForPort(port: number, proc: ChildProcess, logFile: string, viaLog = false): Promise<void> {
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
        if (proc.exitCode !== null) throw new Error(`sshd exited with ${proc.exitCode}: ${fs.readFileSync(logFile, "utf8")}`);
        const ok = viaLog ? fs.existsSync(logFile) && fs.readFileSync(logFile, "utf8").includes(`port ${port}.`) : await new Promise<boolean>((resolve) => {
            const s = net.connect(port, "127.0.0.1");
            s.once("connect", () => {
                s.destroy();
                resolve(true);
            });
            s.once("error", () => resolve(false));
        });
        if (ok) return;
        await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`sshd did not listen on ${port} within 10s: ${fs.readFileSync(logFile, "utf8")}`);
}

/** Starts sshd as root with a config of its own; needs openssh-server installed. */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pd-sshd-"));
    const hostKeyPath = path.join(dir, "host_ed25519");
    const clientKeyPath = path.join(dir, "client_ed25519");
    keygen(hostKeyPath);
    keygen(clientKeyPath);
    fs.copyFileSync(`${clientKeyPath}.pub`, path.join(dir, "authorized_keys"));
    // In a namespace the port only needs to be free there; a port free here keeps "nothing listens on it here" true too.
    const port = await freePort();
    const logFile = path.join(dir, "sshd.log");
    const config = [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKeyPath}`,
        `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}${options.user ? " .ssh/authorized_keys" : ""}`,
        `PidFile ${path.join(dir, "sshd.pid")}`,
        "StrictModes no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "AllowTcpForwarding yes",
        `Subsystem sftp ${options.sftpServer ?? "/usr/lib/openssh/sftp-server"}`,
        `LogLevel ${options.logLevel ?? "INFO"}`,
        options.extraConfig ?? "",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "sshd_config"), config + "\n");
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const sshdArgs = ["-f", path.join(dir, "sshd_config"), "-E", logFile];
    const ns = options.netns;
    let stopServing: () => Promise<void>;
    let servedPort = port;
    if (ns && options.gateway) {
        const gw = await serveGateway(ns, sshdArgs);
        servedPort = gw.port;
        stopServing = gw.stop;
    } else {
        const proc = ns ? spawn("nsenter", [...ns.enter, "/usr/sbin/sshd", "-D", ...sshdArgs], { stdio: "ignore" }) : spawn("/usr/sbin/sshd", ["-D", ...sshdArgs], { stdio: "ignore" });
        await waitForPort(port, proc, logFile, ns !== undefined);
        stopServing = async () => {
            if (proc.exitCode === null) {
                const exited = new Promise((r) => proc.once("exit", r));
                proc.kill("SIGTERM");
                await exited;
            }
        };
    }
    const hostKey = fs.readFileSync(`${hostKeyPath}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    const privateKey = fs.readFileSync(clientKeyPath, "utf8");
    const user = options.user ?? os.userInfo().username;
    return {
        host: "127.0.0.1",
        port: servedPort,
        user,
        hostKey,
        privateKey,
        privateKeyPath: clientKeyPath,
        dir,
        logFile,
        connection: () => ({ host: "127.0.0.1", port: servedPort, user, privateKey, hostKey }),
        stop: async () => {
            await stopServing();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** A loopback port here whose every connection is served by `sshd -i` inside `ns` (one sshd per connection, as inetd would). */
async function serveGateway(ns: IsolatedNetwork, sshdArgs: string[]): Promise<{ port: number; stop: () => Promise<void> }> {
    const children = new Set<ChildProcess>();
    const server = net.createServer((sock) => {
        const child = spawn("nsenter", [...ns.enter, "/usr/sbin/sshd", "-i", ...sshdArgs], { stdio: ["pipe", "pipe", "ignore"] });
        children.add(child);
        sock.pipe(child.stdin!);
        child.stdout!.pipe(sock);
        child.stdin!.on("error", () => undefined);
        sock.on("error", () => child.kill("SIGTERM"));
        sock.on("close", () => child.kill("SIGTERM"));
        child.on("exit", () => {
            children.delete(child);
            sock.destroy();
        });
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
    });
    return {
        port: (server.address() as net.AddressInfo).port,
        stop: async () => {
            await Promise.all(
                [...children].map((c) => {
                    const exited = new Promise((r) => c.once("exit", r));
                    c.kill("SIGTERM");
                    return exited;
                }),
            );
            await new Promise((r) => server.close(r));
        },
    };
}
