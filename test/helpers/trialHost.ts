import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { assertRestored, HostSnapshot, plantHost, stateLeftovers } from "./hostTree";

/**
 * The world the kill trials and the network-fault trials deploy into: the
 * two source versions and the host before any deployment, and the check
 * that a destroy gave that host back.
 */

const LARGE_BYTES = 8 * 1024 * 1024;

/** v1: `small` files in 10 folders and `large` 8 MiB files under big/. */
export function writeTrialV1(dir: string, random: () => number, small: number, large: number): void {
    for (let i = 0; i < small; i++) {
        const f = path.join(dir, `d${i % 10}`, `f${i}.txt`);
        fs.mkdirSync(path.dirname(f), { recursive: true });
        fs.writeFileSync(f, `file ${i}\n`.repeat(20 + Math.floor(random() * 300)));
    }
    fs.mkdirSync(path.join(dir, "big"), { recursive: true });
    for (let i = 0; i < large; i++) fs.writeFileSync(path.join(dir, "big", `blob${i}.bin`), crypto.randomBytes(LARGE_BYTES));
}

/** v2: 20 small files changed, 10 removed, 10 added in a new folder, 64 KiB of the last large file rewritten. */
export function writeTrialV2(v1: string, dir: string, large: number): void {
    fs.cpSync(v1, dir, { recursive: true });
    for (let i = 0; i < 20; i++) fs.appendFileSync(path.join(dir, `d${i % 10}`, `f${i}.txt`), "changed in v2\n");
    for (let i = 20; i < 30; i++) fs.rmSync(path.join(dir, `d${i % 10}`, `f${i}.txt`));
    fs.mkdirSync(path.join(dir, "new"));
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(dir, "new", `n${i}.txt`), `new ${i}\n`);
    const fd = fs.openSync(path.join(dir, "big", `blob${large - 1}.bin`), "r+");
    fs.writeSync(fd, crypto.randomBytes(64 * 1024), 0, 64 * 1024, 4 * 1024 * 1024);
    fs.closeSync(fd);
}

/** The host before any deployment (destination srv/app): files at three deployed paths and the host's own beside them. stateDir starts empty. */
export function plantTrialHost(host: string, stateDir: string): void {
    fs.rmSync(host, { recursive: true, force: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
    plantHost(host, { srv: 0o755, "srv/app": 0o755, "srv/app/d0": 0o750, "srv/app/big": 0o755 }, {
        "srv/app/d0/f0.txt": { content: "ORIGINAL f0\n", mode: 0o640 },
        "srv/app/d1/f1.txt": { content: "ORIGINAL f1\n", mode: 0o600 },
        "srv/app/big/blob0.bin": { content: "ORIGINAL blob\n", mode: 0o644 },
        "srv/app/d0/own.txt": { content: "the host's own\n", mode: 0o644 },
        "srv/app/local.conf": { content: "# local\n", mode: 0o600 },
        "srv/beside.txt": { content: "neighbour\n", mode: 0o644 },
    });
}

/** Asserts a destroy gave back the pristine host and left nothing under stateDir but records. */
export function assertDestroyed(host: string, pristine: HostSnapshot, stateDir: string): void {
    assertRestored(host, pristine, "after destroy");
    const left = stateLeftovers(stateDir);
    if (left.length) throw new Error(`after destroy, stateDir still holds ${left.join(", ")}`);
}
