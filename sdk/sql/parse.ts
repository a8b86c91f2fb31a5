import { lexSql } from "./lexer";
import { checksumOf, normalizeSql } from "./normalize";
import { transactionProblems } from "./transaction";
import { DeltaFileError, DeltaFormat, SqlDelta } from "./types";
import { versionOf } from "./version";

interface Marker {
    format: DeltaFormat;
    /** 0-based index into the file's lines. */
    index: number;
    /** "up", "down", or a goose annotation such as "StatementBegin". */
    kind: string;
    options: string;
    text: string;
}

const SEED = /^--\s*reversible delta\s*$/i;
const DBMATE = /^--\s*migrate:(up|down)\b(.*)$/;
const GOOSE = /^--\s*\+goose\s+(.*?)\s*$/;

function markerOf(line: string, index: number): Marker | undefined {
    const text = line.trim();
    if (SEED.test(text)) return { format: "seed", index, kind: "down", options: "", text };
    const d = DBMATE.exec(text);
    if (d) return { format: "dbmate", index, kind: d[1], options: d[2].trim(), text };
    const g = GOOSE.exec(text);
    if (g) return { format: "goose", index, kind: g[1], options: "", text };
    return undefined;
}

function isCode(text: string): boolean {
    return lexSql(text).statements.length > 0;
}

const FORMAT_NAMES: Record<DeltaFormat, string> = { seed: "seed", dbmate: "dbmate", goose: "goose" };

/** The parts of a file, as line ranges, before normalization. */
interface Parts {
    format: DeltaFormat;
    upLines: string[];
    upStart: number;
    downLines?: string[];
    downStart: number;
    /** The markers are out of order or missing, so the parts are not worth checking further. */
    broken?: boolean;
}

function splitSeed(lines: string[], markers: Marker[], shown: string, problems: string[]): Parts {
    if (markers.length > 1) {
        problems.push(`${shown}: "-- Reversible delta" appears twice (lines ${markers.map((m) => m.index + 1).join(" and ")}); keep one, above the commented-out down statements`);
    }
    const m = markers[0];
    if (!m) return { format: "seed", upLines: lines, upStart: 0, downStart: lines.length };
    const downLines: string[] = [];
    for (let i = m.index + 1; i < lines.length; i++) {
        const l = lines[i];
        if (l.trim() === "") downLines.push("");
        else if (/^\s*--/.test(l)) downLines.push(l.replace(/^\s*-- ?/, ""));
        else {
            problems.push(
                `${shown}: line ${i + 1} follows "-- Reversible delta" but is not commented out; write the down statements as "-- " comments after the marker, and the up statements above it`,
            );
            downLines.push("");
        }
    }
    return { format: "seed", upLines: lines.slice(0, m.index), upStart: 0, downLines, downStart: m.index + 1 };
}

function onlyBefore(lines: string[], end: number, marker: string, shown: string, problems: string[]): void {
    if (isCode(lines.slice(0, end).join("\n"))) {
        problems.push(`${shown}: statements appear before "${marker}"; move them below it (only comments may come first)`);
    }
}

function splitDbmate(lines: string[], markers: Marker[], shown: string, problems: string[]): Parts {
    const ups = markers.filter((m) => m.kind === "up");
    const downs = markers.filter((m) => m.kind === "down");
    for (const [list, name] of [[ups, "-- migrate:up"], [downs, "-- migrate:down"]] as const) {
        if (list.length > 1) problems.push(`${shown}: "${name}" appears ${list.length} times (lines ${list.map((m) => m.index + 1).join(", ")}); keep one`);
    }
    for (const m of markers) {
        if (/\btransaction:false\b/.test(m.options)) {
            problems.push(
                `${shown}: line ${m.index + 1} "${m.text}" asks to run outside a transaction; SqlDeltas runs every delta in one transaction with its history row, so remove "transaction:false" (and any statement that needs it) or run this change outside SqlDeltas`,
            );
        }
    }
    const up = ups[0];
    if (!up) {
        problems.push(`${shown}: "-- migrate:down" without "-- migrate:up"; put the up statements below a "-- migrate:up" line`);
        return { format: "dbmate", upLines: [], upStart: 0, downStart: lines.length, broken: true };
    }
    const down = downs[0];
    if (down && down.index < up.index) {
        problems.push(`${shown}: "-- migrate:down" (line ${down.index + 1}) comes before "-- migrate:up" (line ${up.index + 1}); put the up part first`);
        return { format: "dbmate", upLines: [], upStart: 0, downStart: lines.length, broken: true };
    }
    onlyBefore(lines, up.index, "-- migrate:up", shown, problems);
    const upEnd = down ? down.index : lines.length;
    return {
        format: "dbmate",
        upLines: lines.slice(up.index + 1, upEnd),
        upStart: up.index + 1,
        downLines: down ? lines.slice(down.index + 1) : undefined,
        downStart: down ? down.index + 1 : lines.length,
    };
}

function splitGoose(lines: string[], markers: Marker[], shown: string, problems: string[]): Parts {
    const kinds = new Map<string, Marker[]>();
    for (const m of markers) {
        const k = m.kind.toLowerCase().replace(/\s+/g, " ");
        if (k === "no transaction") {
            problems.push(
                `${shown}: line ${m.index + 1} "${m.text}" asks to run outside a transaction; SqlDeltas runs every delta in one transaction with its history row, so remove the annotation (and any statement that needs it) or run this change outside SqlDeltas`,
            );
        } else if (k === "envsub on") {
            problems.push(`${shown}: line ${m.index + 1} "${m.text}": SqlDeltas does not substitute environment variables; write the values into the delta`);
        } else if (!["up", "down", "statementbegin", "statementend", "envsub off"].includes(k)) {
            problems.push(`${shown}: line ${m.index + 1} "${m.text}" is not a goose annotation SqlDeltas knows (Up, Down, StatementBegin, StatementEnd)`);
        }
        kinds.set(k, [...(kinds.get(k) ?? []), m]);
    }
    const ups = kinds.get("up") ?? [];
    const downs = kinds.get("down") ?? [];
    for (const [list, name] of [[ups, "-- +goose Up"], [downs, "-- +goose Down"]] as const) {
        if (list.length > 1) problems.push(`${shown}: "${name}" appears ${list.length} times (lines ${list.map((m) => m.index + 1).join(", ")}); keep one`);
    }
    const up = ups[0];
    if (!up) {
        problems.push(`${shown}: goose annotations without "-- +goose Up"; put the up statements below a "-- +goose Up" line`);
        return { format: "goose", upLines: [], upStart: 0, downStart: lines.length, broken: true };
    }
    const down = downs[0];
    if (down && down.index < up.index) {
        problems.push(`${shown}: "-- +goose Down" (line ${down.index + 1}) comes before "-- +goose Up" (line ${up.index + 1}); put the up part first`);
        return { format: "goose", upLines: [], upStart: 0, downStart: lines.length, broken: true };
    }
    onlyBefore(lines, up.index, "-- +goose Up", shown, problems);
    // Annotation lines are directions to goose, not SQL: blank them, keeping line numbers.
    const plain = lines.map((l, i) => (markers.some((m) => m.index === i) ? "" : l));
    const upEnd = down ? down.index : lines.length;
    return {
        format: "goose",
        upLines: plain.slice(up.index + 1, upEnd),
        upStart: up.index + 1,
        downLines: down ? plain.slice(down.index + 1) : undefined,
        downStart: down ? down.index + 1 : lines.length,
    };
}

function partProblems(part: string, startIndex: number, name: "up" | "down", shown: string): string[] {
    return transactionProblems(part).map(
        (p) => `${shown}: line ${p.line + startIndex} (${name} part) runs ${p.what}, which ${p.why}; SqlDeltas runs each delta and its history row in one transaction`,
    );
}

/**
 * Reads one delta file in whichever of the three formats it is written:
 *
 * - seed: the up statements, then a `-- Reversible delta` line followed by
 *   the down statements commented out with `-- ` (no marker: irreversible);
 * - dbmate: `-- migrate:up` / `-- migrate:down`;
 * - goose: `-- +goose Up` / `-- +goose Down`, with `StatementBegin/End`.
 *
 * A down part that is empty or only comments means the delta is
 * irreversible. Every problem in the file is reported at once, each naming
 * the file (as `shown`) and the line.
 */
export function parseDelta(fileName: string, text: string, shown = fileName): SqlDelta {
    const problems: string[] = [];
    let version = 0n;
    try {
        version = versionOf(fileName, shown);
    } catch (err) {
        problems.push((err as Error).message);
    }
    const lines = text.replace(/\r\n?/g, "\n").split("\n");
    const markers = lines.map(markerOf).filter((m): m is Marker => m !== undefined);
    const formats = [...new Set(markers.map((m) => m.format))];
    let parts: Parts;
    if (formats.length > 1) {
        const first = formats.map((f) => {
            const m = markers.find((x) => x.format === f)!;
            return `the ${FORMAT_NAMES[f]} format (line ${m.index + 1}: "${m.text}")`;
        });
        throw new DeltaFileError(`${shown}: mixes ${first.join(" and ")}; write each delta in one format`);
    } else if (formats[0] === "dbmate") parts = splitDbmate(lines, markers, shown, problems);
    else if (formats[0] === "goose") parts = splitGoose(lines, markers, shown, problems);
    else parts = splitSeed(lines, markers, shown, problems);

    const upRaw = parts.upLines.join("\n");
    const up = normalizeSql(upRaw);
    if (!isCode(up) && !parts.broken) {
        const where = parts.format === "dbmate" ? ' below "-- migrate:up"' : parts.format === "goose" ? ' below "-- +goose Up"' : "";
        problems.push(`${shown}: the up part is empty; write the statements that apply the delta${where}`);
    }
    problems.push(...partProblems(upRaw, parts.upStart, "up", shown));
    let down: string | undefined;
    if (parts.downLines) {
        const downRaw = parts.downLines.join("\n");
        problems.push(...partProblems(downRaw, parts.downStart, "down", shown));
        const d = normalizeSql(downRaw);
        if (isCode(d)) down = d;
    }
    if (problems.length) throw new DeltaFileError(problems.join("\n"));
    const id = fileName.replace(/\.sql$/i, "");
    const delta: SqlDelta = { id, file: shown, version, format: parts.format, up, checksum: checksumOf(up) };
    if (down !== undefined) delta.down = down;
    return delta;
}
