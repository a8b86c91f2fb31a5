/** One statement of a delta part, located in the text it came from. */
export interface Statement {
    /** 1-based line of its first character that is not blank or comment. */
    startLine: number;
    /** 1-based line of its terminating `;` (or of its last character). */
    endLine: number;
    /** The original text, comments included, without the `;`. */
    text: string;
    /** The text with comments removed and every string literal or quoted name replaced by `''`. */
    code: string;
}

export interface Lexed {
    statements: Statement[];
    /** 1-based lines holding a backslash outside any literal: psql meta-commands. */
    metaCommandLines: number[];
}

/**
 * Splits SQL into statements at `;` outside comments, quotes and dollar
 * quotes, knowing just enough of PostgreSQL's and SQLite's lexical rules
 * (nested block comments, `''` and `E'\''` escapes, `$tag$` bodies) to
 * find where statements start. It never judges whether SQL is valid: the
 * database does that.
 */
export function lexSql(sql: string): Lexed {
    const statements: Statement[] = [];
    const metaCommandLines: number[] = [];
    let code = "";
    let stmtStart = 0;
    let firstLine = 0;
    let line = 1;
    const flush = (end: number, endLine: number) => {
        if (code.trim() !== "") {
            statements.push({ startLine: firstLine, endLine, text: sql.slice(stmtStart, end), code: code.trim() });
        }
        code = "";
        firstLine = 0;
    };
    const noteCode = () => {
        if (firstLine === 0) firstLine = line;
    };
    let i = 0;
    while (i < sql.length) {
        const c = sql[i];
        const next = sql[i + 1];
        if (c === "\n") {
            line++;
            code += "\n";
            i++;
            continue;
        }
        if (c === "-" && next === "-") {
            while (i < sql.length && sql[i] !== "\n") i++;
            continue;
        }
        if (c === "/" && next === "*") {
            let depth = 0;
            while (i < sql.length) {
                if (sql[i] === "/" && sql[i + 1] === "*") {
                    depth++;
                    i += 2;
                } else if (sql[i] === "*" && sql[i + 1] === "/") {
                    depth--;
                    i += 2;
                    if (depth === 0) break;
                } else {
                    if (sql[i] === "\n") {
                        line++;
                        code += "\n";
                    }
                    i++;
                }
            }
            code += " ";
            continue;
        }
        if (c === "\\") {
            // psql acts on a backslash anywhere outside literals, not only at a line start.
            metaCommandLines.push(line);
            noteCode();
            while (i < sql.length && sql[i] !== "\n") i++;
            code += "\\meta";
            continue;
        }
        if (c === "'" || c === '"') {
            const escapes = c === "'" && /[Ee]/.test(sql[i - 1] ?? "") && !/[A-Za-z0-9_]/.test(sql[i - 2] ?? "");
            noteCode();
            i++;
            while (i < sql.length) {
                if (escapes && sql[i] === "\\") {
                    i += 2;
                    continue;
                }
                if (sql[i] === c) {
                    if (sql[i + 1] === c) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                if (sql[i] === "\n") line++;
                i++;
            }
            i++;
            code += "''";
            continue;
        }
        if (c === "$") {
            const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
            if (tag && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? "")) {
                noteCode();
                const close = sql.indexOf(tag[0], i + tag[0].length);
                const end = close < 0 ? sql.length : close + tag[0].length;
                for (let k = i; k < end; k++) if (sql[k] === "\n") line++;
                i = end;
                code += "''";
                continue;
            }
        }
        if (c === ";") {
            flush(i, line);
            i++;
            stmtStart = i;
            continue;
        }
        if (!/\s/.test(c)) noteCode();
        code += c;
        i++;
    }
    flush(sql.length, line);
    return { statements, metaCommandLines };
}
