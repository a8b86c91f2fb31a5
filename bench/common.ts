import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { Sshd } from "../test/helpers/sshd";

/** A file of random bytes, written in 4 MiB blocks. */
export function writeRandomFile(file: string, bytes: number): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(file, "w");
    const block = Buffer.alloc(4 * 1024 * 1024);
    for (let off = 0; off < bytes; off += block.length) {
        crypto.randomFillSync(block);
        fs.writeSync(fd, block, 0, Math.min(block.length, bytes - off));
    }
    fs.closeSync(fd);
}

/** `count` small files of 1-16 KiB (≈ 8 KiB on average), 50 per folder, folders two levels deep. */
export function writeSmallFiles(dir: string, count: number, prefix = "file"): string[] {
    const made: string[] = [];
    for (let i = 0; i < count; i++) {
        const rel = path.join(`d${Math.floor(i / 1000)}`, `e${Math.floor(i / 50) % 20}`, `${prefix}${i}.dat`);
        fs.mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), crypto.randomBytes(1024 + ((i * 7919) % (15 * 1024))));
        made.push(rel);
    }
    return made;
}

export function treeBytes(dir: string): number {
    let n = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n += fs.statSync(path.join(e.parentPath, e.name)).size;
    return n;
}

/** OpenSSH client flags for a throwaway loopback server (its key is not in known_hosts). */
export function sshArgs(s: Sshd, port = s.port): string[] {
    return ["-p", String(port), "-i", s.privateKeyPath, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes"];
}

export async function seconds(fn: () => unknown): Promise<number> {
    const t0 = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

export function flag(name: string): boolean {
    return process.argv.slice(2).includes(name);
}

export function option(name: string, fallback: number): number {
    const args = process.argv.slice(2);
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) || fallback : fallback;
}

/** Runs a command without blocking the event loop (the byte-counting relay lives in this process). */
export function run(cmd: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}: ${err}`))));
    });
}
