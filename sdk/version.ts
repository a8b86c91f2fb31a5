import * as fs from "fs";
import * as path from "path";

let version: string | undefined;

/**
 * This package's version, which is also the plugin's: the Node SDK asks the
 * engine for the plugin of its own version. Found in the package.json beside
 * or above the running file (the npm package's, or the one the plugin's
 * tarball carries).
 */
export function packageVersion(): string {
    if (version) return version;
    for (let dir = __dirname, i = 0; i < 4; dir = path.dirname(dir), i++) {
        const file = path.join(dir, "package.json");
        if (!fs.existsSync(file)) continue;
        const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
        if (pkg.version && (pkg.name === "pulumi-delta" || pkg.name === "pulumi-resource-delta")) return (version = pkg.version);
    }
    throw new Error(`pulumi-delta: no package.json with its version above ${__dirname}`);
}
