import ignore from "ignore";

/** Whether a path relative to the source (POSIX, no leading `/`) is excluded; `isDir` because `dir/` patterns match folders only. */
export type PathMatcher = (relativePath: string, isDir: boolean) => boolean;

/** The POSIX classes git's wildmatch knows; any other `[:name:]` makes git drop the whole pattern. */
const CHARACTER_CLASSES = new Set(["alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper", "xdigit"]);

/**
 * Why git would read `body` (a pattern without its leading `!`) as one that
 * can never match, or undefined. Git and the `ignore` package both accept
 * such patterns silently; a list given in code is better refused. Mirrors
 * the bracket scan of git's wildmatch.c: `]` right after `[` or `[!` is a
 * member, `\` quotes the next character.
 */
function syntaxProblem(body: string): string | undefined {
    const unclosed = (at: number) => `the "[" at offset ${at} is never closed by "]" (escape it with a backslash to match a literal "[")`;
    for (let i = 0; i < body.length; i++) {
        const c = body[i];
        if (c === "\\") {
            if (i + 1 >= body.length) return "it ends with a lone backslash, which escapes nothing (double it to match a literal backslash)";
            i++;
            continue;
        }
        if (c !== "[") continue;
        const open = i;
        let j = i + 1;
        if (body[j] === "!" || body[j] === "^") j++;
        // The member a "-" can start a range from; none at the start or right after a range or class.
        let prev = "";
        // The first member is taken whatever it is (a do-while in git), so `[]]` is a class of "]".
        for (;;) {
            const m = body[j];
            if (m === undefined) return unclosed(open);
            if (m === "\\") {
                j++;
                prev = body[j] ?? "";
            } else if (m === "-" && prev && j + 1 < body.length && body[j + 1] !== "]") {
                j++;
                if (body[j] === "\\") j++;
                prev = "";
            } else if (m === "[" && body[j + 1] === ":") {
                const end = body.indexOf("]", j + 2);
                if (end < 0) return unclosed(open);
                if (end > j + 2 && body[end - 1] === ":") {
                    const name = body.slice(j + 2, end - 1);
                    if (!CHARACTER_CLASSES.has(name)) return `[:${name}:] is not a character class (${[...CHARACTER_CLASSES].join(", ")})`;
                    j = end;
                    prev = "";
                } else prev = "[";
            } else prev = m;
            j++;
            if (body[j] === "]") break;
        }
        i = j;
    }
    return undefined;
}

/** The problem with one pattern, or undefined. */
function patternProblem(g: unknown, i: number): string | undefined {
    const at = `exclude[${i}]`;
    if (typeof g !== "string" || g.trim() === "") return `${at} must be a non-empty pattern string, got ${JSON.stringify(g)}`;
    const shown = `${at} ${JSON.stringify(g)}`;
    if (g.startsWith("#")) return `${shown} is a comment in gitignore syntax and matches nothing; write ${JSON.stringify("\\" + g)} to match a name that starts with "#"`;
    const negated = g.startsWith("!");
    const body = negated ? g.slice(1) : g;
    if (body.trim() === "") return `${shown} re-includes nothing; put the pattern to re-include after the "!", e.g. "!keep.log"`;
    if (body.replace(/\//g, "").trim() === "") return `${shown} names no file or folder and matches nothing; to exclude everything write "*"`;
    const segments = body.split("/");
    if (segments.includes("..")) return `${shown} climbs out of source with ".."; patterns match paths inside source only`;
    if (segments.includes(".")) {
        const fixed = body.replace(/(^|\/)\.(?=\/|$)/g, "$1").replace(/\/{2,}/g, "/").replace(/^\/$/, "");
        return `${shown} has a "." segment, which never matches; write ${JSON.stringify((negated ? "!" : "") + (fixed || "*"))} instead`;
    }
    const syntax = syntaxProblem(body);
    if (syntax) return `${shown} is not a valid pattern: ${syntax}; fix or remove it`;
    return undefined;
}

/**
 * Problems with the exclude patterns (gitignore syntax, relative to the
 * source), all at once, each naming its index and the fix.
 */
export function validateExclude(exclude: unknown): string[] {
    if (exclude === undefined) return [];
    if (!Array.isArray(exclude)) return [`exclude must be a list of gitignore-style patterns such as ["*.tmp", "node_modules/"], got ${JSON.stringify(exclude)}`];
    const problems: string[] = [];
    exclude.forEach((g, i) => {
        const p = patternProblem(g, i);
        if (p) problems.push(p);
    });
    return problems;
}

/**
 * A matcher with gitignore's rules: patterns in order, the last match wins,
 * `!` re-includes, `dir/` matches folders only, a `/` other than at the end
 * anchors at the source, `*.tmp` matches at any depth, dotfiles included,
 * case-sensitive (git's default on Linux). The walk skips an excluded folder
 * whole, so, as in git, nothing under it can be re-included.
 */
export function excludeMatcher(exclude: readonly string[] = []): PathMatcher {
    if (exclude.length === 0) return () => false;
    // One object per pattern: a plain string would be split at line breaks, as a .gitignore file is.
    const ig = ignore({ ignorecase: false }).add(exclude.map((pattern) => ({ pattern })));
    return (rel, isDir) => ig.ignores(isDir ? `${rel}/` : rel);
}
