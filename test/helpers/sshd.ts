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

async function waitForPort(port: number, proc: ChildProcess, logFile: string): Promise<void> {
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
        if (proc.exitCode !== null) throw new Error(`sshd exited with ${proc.exitCode}: ${fs.readFileSync(logFile, "utf8")}`);
        const ok = await new Promise<boolean>((resolve) => {
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
    const port = await freePort();
    const logFile = path.join(dir, "sshd.log");
    const config = [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKeyPath}`,
        `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
        `PidFile ${path.join(dir, "sshd.pid")}`,
        "StrictModes no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "AllowTcpForwarding yes",
        `Subsystem sftp ${options.sftpServer ?? "/usr/lib/openssh/sftp-server"}`,
        "LogLevel INFO",
        options.extraConfig ?? "",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "sshd_config"), config + "\n");
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const proc = spawn("/usr/sbin/sshd", ["-D", "-f", path.join(dir, "sshd_config"), "-E", logFile], { stdio: "ignore" });
    await waitForPort(port, proc, logFile);
    const hostKey = fs.readFileSync(`${hostKeyPath}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    const privateKey = fs.readFileSync(clientKeyPath, "utf8");
    const user = os.userInfo().username;
    return {
        host: "127.0.0.1",
        port,
        user,
        hostKey,
        privateKey,
        privateKeyPath: clientKeyPath,
        dir,
        logFile,
        connection: () => ({ host: "127.0.0.1", port, user, privateKey, hostKey }),
        stop: async () => {
            if (proc.exitCode === null) {
                const exited = new Promise((r) => proc.once("exit", r));
                proc.kill("SIGTERM");
                await exited;
            }
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
