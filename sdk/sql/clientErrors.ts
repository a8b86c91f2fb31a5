import { lexSql } from "./lexer";
import { MARK } from "./scriptTypes";

/** The first error a client reported, as the database worded it. */
export interface ClientError {
    /** The error and its context lines (psql's `LINE n:` and caret, DETAIL, HINT), as printed. */
    text: string;
    /** 1-based script line the client blamed, when it said. */
    scriptLine?: number;
    /** Set when our own guard found the delta recorded under this other checksum. */
    recordedChecksum?: string;
}

const PSQL = /^psql:<stdin>:(\d+): ((?:ERROR|FATAL|PANIC):\s+.*)$/;
const SQLITE = /^(?:Parse error|Runtime error|Error)(?: near line (\d+))?: (.*)$/;

/** Reads psql's or sqlite3's stderr; undefined when it holds no error we recognize. */
export function parseClientError(stderr: string): ClientError | undefined {
    const lines = stderr.replace(/\r\n/g, "\n").split("\n");
    for (let i = 0; i < lines.length; i++) {
        const p = PSQL.exec(lines[i]);
        const s = p ? undefined : SQLITE.exec(lines[i]);
        if (!p && !s) continue;
        const head = p ? p[2] : s![2];
        const more: string[] = [];
        for (let j = i + 1; j < lines.length && !PSQL.test(lines[j]) && !/^psql:/.test(lines[j]) && lines[j] !== ""; j++) more.push(lines[j]);
        const line = p ? p[1] : s![1];
        const err: ClientError = { text: [head, ...more].join("\n") };
        if (line !== undefined) err.scriptLine = Number(line);
        const recorded = new RegExp(`${MARK}recorded-checksum (\\S+)`).exec(head);
        if (recorded) err.recordedChecksum = recorded[1];
        return err;
    }
    return undefined;
}

/** The statement of a delta part holding 1-based `line`, with its line number, for messages. */
export function statementAt(partSql: string, line: number): { line: number; text: string } | undefined {
    const statements = lexSql(partSql).statements;
    const hit = statements.find((s) => s.startLine <= line && line <= s.endLine) ?? [...statements].reverse().find((s) => s.startLine <= line);
    if (!hit) return undefined;
    const text = partSql.split("\n").slice(hit.startLine - 1, hit.endLine).join("\n").trim();
    return { line: hit.startLine, text };
}
