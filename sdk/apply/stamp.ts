import type { ManifestEntry } from "../manifest";
import type { RemoteStat } from "../transport";

/**
 * What the host said about a deployed large file right after it was put in
 * place. The next patch builds on that file only if the host still says the
 * same: a size or mtime that moved means someone wrote it since.
 */
export interface FileStamp {
    /** The path on the host, for a reader of the stamp file (the file's name is derived from it). */
    target: string;
    /** The content the deployment put there (hex). */
    sha256: string;
    size: number;
    /**
     * Seconds since the epoch, as the transport reports it (SFTP carries
     * whole seconds): an edit within the second of the stamp slips past it
     * and is caught by the sha256 of the patched file on the host instead.
     */
    mtime: number;
}

/** A stamp as stored on the host: one JSON line, versioned, so a path may hold any character. */
export function encodeStamp(s: FileStamp): string {
    return JSON.stringify({ version: 1, target: s.target, sha256: s.sha256, size: s.size, mtime: s.mtime }) + "\n";
}

/** Throws an Error saying what is wrong unless `text` is a stamp {@link encodeStamp} wrote. */
export function decodeStamp(text: string): FileStamp {
    let v: unknown;
    try {
        v = JSON.parse(text);
    } catch {
        throw new Error("not a pulumi-delta stamp (not JSON)");
    }
    const o = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
    if (o.version !== 1) throw new Error(`unsupported stamp version ${JSON.stringify(o.version)}`);
    const count = (x: unknown) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
    if (typeof o.target !== "string" || typeof o.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(o.sha256) || !count(o.size) || !count(o.mtime)) {
        throw new Error("malformed stamp (needs target, sha256 as 64 hex, size and mtime as non-negative integers)");
    }
    return { target: o.target, sha256: o.sha256, size: o.size as number, mtime: o.mtime as number };
}

/** What the host's state root says about a large file's last deployed version. */
export type StampLookup = { kind: "none" } | { kind: "unreadable"; why: string } | { kind: "found"; stamp: FileStamp };

/**
 * Why the file at `target` cannot be the base of a patch, or undefined when
 * it can. Pure. Without a stamp (a version deployed before stamps existed)
 * only the size is checked; the host-side sha256 of the patched result still
 * catches a same-size edit.
 */
export function driftReason(target: string, onHost: RemoteStat | undefined, previous: ManifestEntry, recorded: StampLookup): string | undefined {
    if (!onHost) return `${target} is gone from the host`;
    if (onHost.kind !== "file") return `${target} is a ${onHost.kind} on the host`;
    if (onHost.size !== previous.size) return `${target} has ${onHost.size} bytes on the host, the last deployment left ${previous.size}`;
    if (recorded.kind === "none") return undefined;
    if (recorded.kind === "unreadable") return `the record of ${target}'s size and mtime is unreadable: ${recorded.why}`;
    const s = recorded.stamp;
    if (s.sha256 !== previous.sha256 || s.target !== target) return `the record of ${target}'s size and mtime is for another version`;
    if (s.size !== onHost.size || s.mtime !== onHost.mtime) {
        return `${target} was modified on the host after the last deployment (size ${onHost.size}, mtime ${onHost.mtime}; recorded ${s.size}, ${s.mtime})`;
    }
    return undefined;
}
