import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { freePort } from "./sshd";

export const NGINX = "/usr/sbin/nginx";

/**
 * Debian's nginx as a real server on a free loopback port, with a prefix,
 * config, pid file and error log of its own. The main config includes
 * `<prefix>/conf.d/*.conf`, where `app.conf` holds the server block tests
 * deploy over.
 */
export interface Nginx {
    port: number;
    prefix: string;
    conf: string;
    confd: string;
    appConf: string;
    /** `-p <prefix> -e <error log> -c <conf>`: the flags every command needs. */
    flags: string;
    /** Shell command that checks the config (`nginx -t`). */
    testCommand: string;
    /** Shell command that reloads the running server. */
    reloadCommand: string;
    /**
     * Shell command that checks a lone server block at `{staged}` by wrapping
     * it in a minimal config of its own (a validate hook for a staged file).
     */
    stagedTestCommand: string;
    /** An app.conf whose server answers every request with `body`. */
    appConfFor(body: string): string;
    /** GET / → the body (retries briefly while a reload settles). */
    get(expect?: string): Promise<string>;
    stop(): Promise<void>;
}

function request(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
            const parts: Buffer[] = [];
            res.on("data", (d: Buffer) => parts.push(d));
            res.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
        });
        req.on("error", reject);
        req.setTimeout(2000, () => req.destroy(new Error("timed out")));
    });
}

export async function startNginx(initialBody = "original\n"): Promise<Nginx> {
    if (!fs.existsSync(NGINX)) throw new Error(`${NGINX} is missing; install Debian's nginx (apt-get install nginx-light or nginx)`);
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "pd-nginx-"));
    const confd = path.join(prefix, "conf.d");
    fs.mkdirSync(confd);
    fs.mkdirSync(path.join(prefix, "tmp"));
    const port = await freePort();
    const conf = path.join(prefix, "nginx.conf");
    const errorLog = path.join(prefix, "error.log");
    const common = [
        `pid ${path.join(prefix, "nginx.pid")};`,
        `error_log ${errorLog};`,
        "worker_processes 1;",
        "events { worker_connections 64; }",
    ];
    const http = (include: string) =>
        [
            "http {",
            "    access_log off;",
            ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `    ${t}_temp_path ${path.join(prefix, "tmp", t)};`),
            `    include ${include};`,
            "}",
        ].join("\n");
    fs.writeFileSync(conf, [...common, "daemon off;", http(path.join(confd, "*.conf"))].join("\n") + "\n");
    const appConfFor = (body: string) => `server {\n    listen 127.0.0.1:${port};\n    default_type text/plain;\n    location / { return 200 ${JSON.stringify(body)}; }\n}\n`;
    const appConf = path.join(confd, "app.conf");
    fs.writeFileSync(appConf, appConfFor(initialBody));
    const flags = `-p ${prefix} -e ${errorLog} -c ${conf}`;
    // The staged check: a config of its own that includes only the staged server block.
    const stagedConf = path.join(prefix, "staged-test.conf");
    const stagedTestCommand =
        `printf '%s\\n' ${common.map((l) => `'${l}'`).join(" ")} 'http { include '{staged}'; }' > ${stagedConf} && ` +
        `${NGINX} -t -q -p ${prefix} -e ${errorLog} -c ${stagedConf}`;
    execFileSync(NGINX, ["-t", "-q", ...flags.split(" ")], { stdio: "pipe" });
    const proc: ChildProcess = spawn(NGINX, flags.split(" "), { stdio: "ignore" });
    const deadline = Date.now() + 10000;
    for (;;) {
        if (proc.exitCode !== null) throw new Error(`nginx exited with ${proc.exitCode}: ${fs.readFileSync(errorLog, "utf8")}`);
        try {
            await request(port);
            break;
        } catch (err) {
            if (Date.now() > deadline) throw new Error(`nginx did not answer on ${port} within 10s: ${(err as Error).message}`);
            await new Promise((r) => setTimeout(r, 50));
        }
    }
    return {
        port,
        prefix,
        conf,
        confd,
        appConf,
        flags,
        testCommand: `${NGINX} -t -q ${flags}`,
        reloadCommand: `${NGINX} ${flags} -s reload`,
        stagedTestCommand,
        appConfFor,
        get: async (expect?: string) => {
            // A reload swaps workers; old ones may answer for a moment.
            const until = Date.now() + 5000;
            for (;;) {
                const body = await request(port).catch(() => "");
                if (expect === undefined || body === expect || Date.now() > until) return body;
                await new Promise((r) => setTimeout(r, 100));
            }
        },
        stop: async () => {
            if (proc.exitCode === null) {
                const exited = new Promise((r) => proc.once("exit", r));
                proc.kill("SIGQUIT");
                await exited;
            }
            fs.rmSync(prefix, { recursive: true, force: true });
        },
    };
}
