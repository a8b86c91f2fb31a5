import * as fs from "fs";
import * as path from "path";
import { parseDelta } from "./parse";
import { DeltaFileError, SqlDelta } from "./types";
import { compareDeltas } from "./version";

/** Files that are deltas: `*.sql` (any case), not hidden (editor locks and swap files are). */
export function isDeltaFile(name: string): boolean {
    return /\.sql$/i.test(name) && !name.startsWith(".");
}

/**
 * Parses named texts as deltas and puts them in order (version, then name).
 * Every problem in every file is reported in one error.
 */
export function parseDeltas(files: { name: string; text: string; shown?: string }[]): SqlDelta[] {
    const problems: string[] = [];
    const deltas: SqlDelta[] = [];
    for (const f of files) {
        try {
            deltas.push(parseDelta(f.name, f.text, f.shown ?? f.name));
        } catch (err) {
            if (!(err instanceof DeltaFileError)) throw err;
            problems.push(err.message);
        }
    }
    const byId = new Map<string, SqlDelta>();
    for (const d of deltas) {
        const other = byId.get(d.id);
        if (other) problems.push(`${other.file} and ${d.file} both have the id ${d.id}; rename one of them`);
        else byId.set(d.id, d);
    }
    if (problems.length) throw new DeltaFileError(problems.join("\n"));
    return deltas.sort(compareDeltas);
}

/** Reads every delta file in a local directory (not its subdirectories), in order. */
export function loadDeltas(dir: string): SqlDelta[] {
    let names: string[];
    try {
        names = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile() && isDeltaFile(e.name)).map((e) => e.name);
    } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const why = e.code === "ENOENT" ? "no such directory" : e.code === "ENOTDIR" ? "not a directory" : e.message;
        throw new DeltaFileError(`failed to read deltas ${dir} on local: ${why}; deltas must be a local folder of .sql files`);
    }
    return parseDeltas(names.map((name) => ({ name, text: fs.readFileSync(path.join(dir, name), "utf8"), shown: path.join(dir, name) })));
}
