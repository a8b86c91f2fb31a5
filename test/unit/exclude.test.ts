import * as assert from "assert";
import * as fs from "fs";
import { buildManifest, sortedPaths, validateExclude } from "../../sdk/manifest";
import { tempDir, writeTree } from "../helpers/tree";

/** One tree for every case: names at several depths, a folder and a file both called "build", dotfiles. */
const TREE = [
    "!y",
    "#x",
    ".env",
    ".git/HEAD",
    "a.tmp",
    "build/out.js",
    "docs/a/b/c.md",
    "docs/x.md",
    "etc/conf",
    "keep.tmp",
    "lib/build",
    "logs/a.log",
    "logs/keep.log",
    "src/build/x.js",
    "src/etc/conf",
    "sub/b.tmp",
    "sub/keep.tmp",
];

function without(...gone: string[]): string[] {
    return TREE.filter((p) => !gone.includes(p));
}

describe("exclude (gitignore semantics)", () => {
    let dir: string;
    before(() => {
        dir = tempDir("pd-exclude-");
        writeTree(dir, Object.fromEntries(TREE.map((p) => [p, p])));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    // Each expectation was checked against `git ls-files --others --exclude-from` on the same tree.
    const cases: [string, string[], string[]][] = [
        ["a pattern without a slash matches at any depth", ["*.tmp"], without("a.tmp", "keep.tmp", "sub/b.tmp", "sub/keep.tmp")],
        ["! re-includes what an earlier pattern excluded", ["*.tmp", "!keep.tmp"], without("a.tmp", "sub/b.tmp")],
        ["the last match wins", ["!keep.tmp", "*.tmp"], without("a.tmp", "keep.tmp", "sub/b.tmp", "sub/keep.tmp")],
        ["dir/ matches folders only, at any depth", ["build/"], without("build/out.js", "src/build/x.js")],
        ["a name without a slash matches folders and files", ["build"], without("build/out.js", "lib/build", "src/build/x.js")],
        ["a leading slash anchors at the source", ["/etc"], without("etc/conf")],
        ["a middle slash anchors at the source", ["src/etc"], without("src/etc/conf")],
        ["nothing under an excluded folder can be re-included", ["logs/", "!logs/keep.log"], without("logs/a.log", "logs/keep.log")],
        ["…but the folder's content can be excluded and part of it re-included", ["logs/*", "!logs/keep.log"], without("logs/a.log")],
        ["** matches zero or more folders", ["docs/**/*.md"], without("docs/a/b/c.md", "docs/x.md")],
        ["a leading **/ matches at any depth", ["**/b"], without("docs/a/b/c.md")],
        ["a trailing /** matches everything inside", ["docs/**"], without("docs/a/b/c.md", "docs/x.md")],
        ["dotfiles are matched like any name", [".*"], without(".env", ".git/HEAD")],
        ["everything but .js files", ["*", "!*/", "!*.js"], ["build/out.js", "src/build/x.js"]],
        ["matching is case-sensitive", ["*.TMP", "BUILD/"], TREE],
        ["an escaped # or ! is literal", ["\\#x", "\\!y"], without("#x", "!y")],
    ];
    for (const [what, exclude, expected] of cases) {
        it(`${what}: ${JSON.stringify(exclude)}`, () => {
            assert.deepStrictEqual(validateExclude(exclude), []);
            // Files only: a folder the patterns empty is deployed as an empty folder (as rsync -a --exclude leaves it), which is not what these cases check.
            const m = buildManifest(dir, exclude, { cache: false });
            assert.deepStrictEqual(sortedPaths(m).filter((p) => !m.entries.get(p)!.type), expected);
        });
    }
});

describe("validateExclude", () => {
    it("accepts gitignore patterns", () => {
        const good = ["*.tmp", "node_modules/", "/etc/*", "src/**/gen", "!keep.tmp", "\\#notes", "\\!x", "[abc].txt", "[!a]*", "[]]x", "[a-]", "[[:digit:]]*", "a\\[b", "a\\\\"];
        assert.deepStrictEqual(validateExclude(good), []);
    });

    it("says so when exclude is not a list", () => {
        assert.deepStrictEqual(validateExclude("*.tmp"), [`exclude must be a list of gitignore-style patterns such as ["*.tmp", "node_modules/"], got "*.tmp"`]);
    });

    it("names every bad pattern by its index, all at once", () => {
        const bad: unknown[] = ["", 3, "  ", "#notes", "!", "! ", "/", "!//", "../x", "a/../../b", "./a", "a/./b", ".", "!./keep", "[a-", "x[!]", "y[[:word:]]", "z[[:alpha:", "trail\\", "ok.txt"];
        assert.deepStrictEqual(validateExclude(bad), [
            `exclude[0] must be a non-empty pattern string, got ""`,
            `exclude[1] must be a non-empty pattern string, got 3`,
            `exclude[2] must be a non-empty pattern string, got "  "`,
            `exclude[3] "#notes" is a comment in gitignore syntax and matches nothing; write "\\\\#notes" to match a name that starts with "#"`,
            `exclude[4] "!" re-includes nothing; put the pattern to re-include after the "!", e.g. "!keep.log"`,
            `exclude[5] "! " re-includes nothing; put the pattern to re-include after the "!", e.g. "!keep.log"`,
            `exclude[6] "/" names no file or folder and matches nothing; to exclude everything write "*"`,
            `exclude[7] "!//" names no file or folder and matches nothing; to exclude everything write "*"`,
            `exclude[8] "../x" climbs out of source with ".."; patterns match paths inside source only`,
            `exclude[9] "a/../../b" climbs out of source with ".."; patterns match paths inside source only`,
            `exclude[10] "./a" has a "." segment, which never matches; write "/a" instead`,
            `exclude[11] "a/./b" has a "." segment, which never matches; write "a/b" instead`,
            `exclude[12] "." has a "." segment, which never matches; write "*" instead`,
            `exclude[13] "!./keep" has a "." segment, which never matches; write "!/keep" instead`,
            `exclude[14] "[a-" is not a valid pattern: the "[" at offset 0 is never closed by "]" (escape it with a backslash to match a literal "["); fix or remove it`,
            `exclude[15] "x[!]" is not a valid pattern: the "[" at offset 1 is never closed by "]" (escape it with a backslash to match a literal "["); fix or remove it`,
            `exclude[16] "y[[:word:]]" is not a valid pattern: [:word:] is not a character class (alnum, alpha, blank, cntrl, digit, graph, lower, print, punct, space, upper, xdigit); fix or remove it`,
            `exclude[17] "z[[:alpha:" is not a valid pattern: the "[" at offset 1 is never closed by "]" (escape it with a backslash to match a literal "["); fix or remove it`,
            `exclude[18] "trail\\\\" is not a valid pattern: it ends with a lone backslash, which escapes nothing (double it to match a literal backslash); fix or remove it`,
        ]);
    });
});
