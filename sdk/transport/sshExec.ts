import type { Client, ClientChannel } from "ssh2";
import { ExecOptions, ExecResult, TransportError } from "./types";

/** Runs `command` on its own channel, collecting its output; a timeout kills it. */
export function execOver(client: Client, host: string, command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
        client.exec(command, (err: Error | undefined, stream: ClientChannel) => {
            if (err) return reject(new TransportError("run", command, host, err.message));
            const out: Buffer[] = [];
            const errs: Buffer[] = [];
            let timedOut = false;
            let code: number | null = null;
            const timer = options.timeoutMs
                ? setTimeout(() => {
                      timedOut = true;
                      stream.signal("KILL");
                      stream.close();
                  }, options.timeoutMs)
                : undefined;
            stream.on("data", (d: Buffer) => out.push(d));
            stream.stderr.on("data", (d: Buffer) => errs.push(d));
            stream.on("exit", (c: number | null) => (code = c));
            stream.on("close", () => {
                if (timer) clearTimeout(timer);
                resolve({
                    code: timedOut ? null : code,
                    stdout: Buffer.concat(out).toString("utf8"),
                    stderr: Buffer.concat(errs).toString("utf8"),
                    ...(timedOut ? { timedOut } : {}),
                });
            });
            stream.end(options.stdin ?? "");
        });
    });
}
