import picomatch from "picomatch";

export type PathMatcher = (relativePath: string) => boolean;

/**
 * Problems with exclude globs, each naming the input and the fix. Globs are
 * relative to the source and use `/` (e.g. `**\/*.tmp`, `cache/**`).
 */
export function validateExclude(exclude: unknown): string[] {
    if (exclude === undefined) return [];
    if (!Array.isArray(exclude)) return [`exclude must be a list of globs such as ["**/*.tmp"], got ${JSON.stringify(exclude)}`];
    const problems: string[] = [];
    exclude.forEach((g, i) => {
        if (typeof g !== "string" || g.trim() === "") problems.push(`exclude[${i}] must be a non-empty glob string, got ${JSON.stringify(g)}`);
        else if (g.startsWith("/")) problems.push(`exclude[${i}] ${JSON.stringify(g)} is absolute; globs are relative to source, e.g. ${JSON.stringify(g.replace(/^\/+/, ""))}`);
        else if (g.split("/").includes("..")) problems.push(`exclude[${i}] ${JSON.stringify(g)} climbs out of source with ".."; globs match paths inside source only`);
    });
    return problems;
}

/**
 * A matcher for the exclude globs. A directory that matches is skipped whole,
 * so `node_modules` or `**\/.git` prune their trees without a trailing `/**`.
 */
export function excludeMatcher(exclude: readonly string[] = []): PathMatcher {
    if (exclude.length === 0) return () => false;
    return picomatch([...exclude], { dot: true });
}
