import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { isMainThread, parentPort, Worker, workerData } from "worker_threads";

/**
 * A reader of `destination` running on its own thread while a deployment
 * (and its failure, recovery and destroy) runs: over and over it resolves
 * `destination` once, reads the whole tree it resolved to, and names which
 * known tree that was. A strategy that switches whole trees must never let
 * it see anything else: not a tree half built, nor a folder taken away
 * while `destination` still pointed at it. A read that `destination` moved
 * under (it resolved elsewhere before and after) is counted and retried,
 * not judged: a flip between two reads is what a switch looks like.
 */

/** A tree's identity: every file's and symlink's relative path, kind, mode and content (a link's target). Folders count only by what they hold. */
export function treeDigest(root: string, cache = new Map<string, string>()): { digest: string; entries: number } {
    const lines: string[] = [];
    const visit = (dir: string, rel: string) => {
        for (const name of fs.readdirSync(dir).sort()) {
            const abs = path.join(dir, name);
            const r = rel ? `${rel}/${name}` : name;
            const st = fs.lstatSync(abs);
            if (st.isDirectory()) visit(abs, r);
            else if (st.isSymbolicLink()) lines.push(`${r}\0link\0${fs.readlinkSync(abs)}`);
            else if (st.isFile()) {
                // Release files are hard links shared between releases: an inode whose times and size are unchanged holds the bytes hashed before.
                const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
                let sha = cache.get(key);
                if (sha === undefined) {
                    sha = crypto.createHash("sha256").update(fs.readFileSync(abs)).digest("hex");
                    cache.set(key, sha);
                }
                lines.push(`${r}\0file\0${(st.mode & 0o7777).toString(8)}\0${sha}`);
            } else lines.push(`${r}\0other`);
        }
    };
    visit(root, "");
    return { digest: crypto.createHash("sha256").update(lines.join("\n")).digest("hex"), entries: lines.length };
}

/** What `destination` is at one instant. */
function resolved(p: string): string {
    try {
        const st = fs.lstatSync(p);
        if (st.isSymbolicLink()) return `link ${fs.readlinkSync(p)}`;
        return st.isDirectory() ? "folder" : "other";
    } catch {
        return "absent";
    }
}

export interface ReaderSummary {
    /** Reads that ended in a judgement (a known tree, absent, or a violation). */
    reads: number;
    /** Reads per stage, then per known tree name (and "absent"). */
    seen: Record<string, Record<string, number>>;
    /** Reads `destination` moved under, retried. */
    moved: number;
    /** Reads that saw what they must not. */
    bad: number;
    /** The first few of them per stage: the stage, what destination was, and what was read. */
    violations: string[];
}

/** The trees a read may find in one stage of a run, by name, and whether `destination` may be absent. */
export interface Allow {
    stage: string;
    names: string[];
    absent: boolean;
}

type ToReader = { allow: Allow } | { stop: true };

async function readerLoop(destination: string, trees: Record<string, string>, first: Allow, pauseMs: number): Promise<void> {
    const byDigest = new Map(Object.entries(trees).map(([name, digest]) => [digest, name]));
    const cache = new Map<string, string>();
    const summary: ReaderSummary = { reads: 0, seen: {}, moved: 0, bad: 0, violations: [] };
    const perStage = new Map<string, number>();
    let allow = first;
    let stopping = false;
    parentPort!.on("message", (m: ToReader) => {
        if ("allow" in m) allow = m.allow;
        else stopping = true;
    });
    const judge = (what: string, before: string) => {
        summary.reads++;
        const stage = (summary.seen[allow.stage] ??= {});
        stage[what] = (stage[what] ?? 0) + 1;
        const ok = what === "absent" ? allow.absent : allow.names.includes(what);
        if (ok) return;
        summary.bad++;
        const n = perStage.get(allow.stage) ?? 0;
        perStage.set(allow.stage, n + 1);
        if (n < 3) summary.violations.push(`${allow.stage}: destination was ${before} and read as ${what} (allowed: ${[...allow.names, ...(allow.absent ? ["absent"] : [])].join(", ")})`);
    };
    while (!stopping) {
        const before = resolved(destination);
        if (before === "absent") judge("absent", before);
        else {
            let what: string;
            try {
                // Resolved once: a walk through the link itself would follow each flip and read a mix of trees by design.
                const { digest, entries } = treeDigest(fs.realpathSync(destination), cache);
                what = byDigest.get(digest) ?? `an unknown tree of ${entries} entries`;
            } catch (err) {
                what = `an unreadable tree (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
            }
            if (resolved(destination) !== before) summary.moved++;
            else judge(what, before);
        }
        await new Promise((r) => setTimeout(r, pauseMs));
    }
    parentPort!.postMessage(summary);
}

if (!isMainThread && (workerData as { treeReader?: boolean } | undefined)?.treeReader) {
    const d = workerData as { destination: string; trees: Record<string, string>; allow: Allow; pauseMs: number };
    void readerLoop(d.destination, d.trees, d.allow, d.pauseMs);
}

/** The main thread's handle on a reader. */
export class TreeReader {
    private constructor(private readonly worker: Worker) {}

    /** Starts reading `destination`; `trees` names the known trees by their treeDigest, `allow` the first stage's (see allow()). */
    static start(destination: string, trees: Record<string, string>, allow: Allow, pauseMs = 3): TreeReader {
        return new TreeReader(new Worker(__filename, { workerData: { treeReader: true, destination, trees, allow, pauseMs } }));
    }

    /** From now on, the trees a read may find (and whether `destination` may be absent), under a stage name for the violations. */
    allow(next: Allow): void {
        this.worker.postMessage({ allow: next } satisfies ToReader);
    }

    async stop(): Promise<ReaderSummary> {
        const done = new Promise<ReaderSummary>((resolve, reject) => {
            this.worker.once("message", resolve);
            this.worker.once("error", reject);
        });
        this.worker.postMessage({ stop: true } satisfies ToReader);
        const summary = await done;
        await this.worker.terminate();
        return summary;
    }
}
