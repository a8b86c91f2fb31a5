import { spawn } from "child_process";
import type { IsolatedNetwork } from "./sshd";

/**
 * A mount namespace (held open by a process) in which `root` is mounted at
 * `at`. sshd started inside it (through startSshd's `netns`, which only
 * needs `nsenter` arguments) serves a loopback port of the runner's network
 * like any other, but its sessions see their own files at `at`: several
 * hosts on one machine, each with the same destination path, as real hosts
 * have. (The same as fleet.test.ts's, shared here for the YAML components test.)
 */
export async function ownFilesystem(root: string, at: string): Promise<IsolatedNetwork> {
    const holder = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", 'mount --bind "$1" "$2" && echo ready && exec sleep 100000', "sh", root, at], {
        stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    holder.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
        holder.stdout!.once("data", () => resolve());
        holder.once("exit", (code) => reject(new Error(`cannot create a mount namespace (unshare --mount exited with ${code}: ${err.trim()}); the test needs root`)));
    });
    return {
        pid: holder.pid!,
        enter: [`--mount=/proc/${holder.pid}/ns/mnt`],
        stop: async () => {
            if (holder.exitCode === null) {
                const exited = new Promise((r) => holder.once("exit", r));
                holder.kill("SIGTERM");
                await exited;
            }
        },
    };
}
