import { lexSql } from "./lexer";

/** Something in a delta part that cannot run inside the one transaction a delta runs in. */
export interface TransactionProblem {
    /** 1-based line within the part. */
    line: number;
    /** What was found, e.g. "CREATE INDEX CONCURRENTLY". */
    what: string;
    /** Why it is refused, completing "…, which …". */
    why: string;
}

const RULES: { re: RegExp; what: (m: RegExpExecArray) => string; why: string }[] = [
    {
        re: /^(CREATE (?:UNIQUE )?INDEX|DROP INDEX|REINDEX)\b.*\bCONCURRENTLY\b/,
        what: (m) => `${m[1]} CONCURRENTLY`,
        why: "cannot run inside a transaction",
    },
    { re: /^(VACUUM)\b/, what: (m) => m[1], why: "cannot run inside a transaction" },
    { re: /^((?:CREATE|DROP) (?:DATABASE|TABLESPACE))\b/, what: (m) => m[1], why: "cannot run inside a transaction" },
    { re: /^(ALTER SYSTEM)\b/, what: (m) => m[1], why: "cannot run inside a transaction" },
    {
        // END is left out: it also closes SQLite trigger bodies and BEGIN ATOMIC blocks.
        re: /^(BEGIN|START TRANSACTION|COMMIT|ABORT|ROLLBACK(?! TO\b))\b/,
        what: (m) => m[1],
        why: "would end the delta's transaction early, so its history row and a failure's rollback would no longer go with it",
    },
];

/**
 * Statements that defeat the all-or-nothing apply of a delta: those the
 * database refuses inside a transaction, explicit transaction control, and
 * client meta-commands (psql `\…`, sqlite3 `.…`), which are not SQL.
 */
export function transactionProblems(part: string): TransactionProblem[] {
    const lexed = lexSql(part);
    const problems: TransactionProblem[] = lexed.metaCommandLines.map((line) => ({
        line,
        what: "a psql meta-command (a backslash outside quotes)",
        why: "is not SQL and would be run by the client, outside the delta's transaction",
    }));
    for (const s of lexed.statements) {
        const head = s.code.replace(/\s+/g, " ").toUpperCase();
        if (/^\.[A-Z]/.test(head)) {
            problems.push({ line: s.startLine, what: "an sqlite3 dot-command", why: "is not SQL and would be run by the client, outside the delta's transaction" });
            continue;
        }
        for (const rule of RULES) {
            const m = rule.re.exec(head);
            if (m) {
                problems.push({ line: s.startLine, what: rule.what(m), why: rule.why });
                break;
            }
        }
    }
    return problems.sort((a, b) => a.line - b.line);
}
