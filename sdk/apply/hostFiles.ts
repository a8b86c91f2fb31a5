import * as path from "path";
import type { Manifest } from "../manifest";
import type { Transport } from "../transport";
import { targetPath } from "./layout";
import { forEachLimit } from "./pool";

/** Who owns the deployed files; a field left out is left as the host makes it. */
export interface Ownership {
    /** User name or uid. */
    owner?: string;
    /** Group name or gid. */
    group?: string;
}

/** chowns in flight: cheap requests, batched by the sudo transport. */
const CHOWNS_IN_FLIGHT = 64;

/** Sets the owner and group of every file of `deployed` at `destination` (after an owner or group change). */
export async function applyOwnership(t: Transport, destination: string, deployed: Manifest, ownership: Ownership): Promise<void> {
    await forEachLimit([...deployed.entries.keys()], CHOWNS_IN_FLIGHT, (p) => t.chown(targetPath(destination, deployed.kind, p), ownership.owner, ownership.group));
}

/**
 * File moves between the destination and the deployment's folder under the
 * state root. On one filesystem they are links and renames (atomic, no data
 * copied); across filesystems, copies on the host followed by a rename.
 */
export class HostFiles {
    private readonly knownDirs = new Set<string>();

    constructor(
        readonly t: Transport,
        readonly sameFs: boolean,
    ) {}

    /** mkdir -p, remembering what exists; returns the directories it created, outermost first. */
    async ensureDir(dir: string, mode = 0o755): Promise<string[]> {
        if (this.knownDirs.has(dir)) return [];
        const created = await this.t.mkdirp(dir, mode);
        for (let d = dir; !this.knownDirs.has(d); d = path.posix.dirname(d)) {
            this.knownDirs.add(d);
            if (d === path.posix.dirname(d)) break;
        }
        return created;
    }

    /** Keeps a copy of `from` at `to`, leaving `from` in place. A symlink is copied as a symlink (never its target). */
    async keepCopy(from: string, to: string): Promise<void> {
        await this.ensureDir(path.posix.dirname(to), 0o700);
        if (await this.t.stat(to)) await this.t.unlink(to);
        // link(2) names the symlink itself on Linux; a copy would read through it.
        if (this.sameFs) await this.t.link(from, to);
        else await this.copy(from, to);
    }

    /** Moves `from` to `to`, replacing `to` atomically; `tempNearTo` is a free name on `to`'s filesystem. */
    async move(from: string, to: string, tempNearTo: string): Promise<void> {
        await this.ensureDir(path.posix.dirname(to), 0o700);
        if (this.sameFs) return this.t.rename(from, to);
        if (await this.t.stat(tempNearTo)) await this.t.unlink(tempNearTo);
        await this.copy(from, tempNearTo);
        await this.t.rename(tempNearTo, to);
        await this.t.unlink(from);
    }

    /** A file's bytes, or a symlink's text (with its mtime), across filesystems. */
    private async copy(from: string, to: string): Promise<void> {
        const st = await this.t.stat(from);
        if (st?.kind !== "symlink") return this.t.copyFile(from, to);
        await this.t.symlink(await this.t.readlink(from), to);
        await this.t.setMtimes([{ path: to, mtime: st.mtime, symlink: true }]);
    }

    async exists(p: string): Promise<boolean> {
        return (await this.t.stat(p)) !== undefined;
    }

    /** Removes directories in `dirs` that are empty, deepest first; returns those removed. */
    async removeEmptyDirs(dirs: Iterable<string>): Promise<string[]> {
        const removed: string[] = [];
        const deepestFirst = [...new Set(dirs)].sort((a, b) => b.split("/").length - a.split("/").length || (a < b ? 1 : -1));
        for (const d of deepestFirst) {
            const st = await this.t.stat(d);
            if (!st) {
                removed.push(d);
                continue;
            }
            if (st.kind !== "dir") continue;
            if ((await this.t.readdir(d)).length > 0) continue;
            await this.t.rmdir(d);
            removed.push(d);
        }
        return removed;
    }
}
