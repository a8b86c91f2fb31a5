import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigMap, LocalWorkspace, OutputMap, PulumiCommand, Stack } from "@pulumi/pulumi/automation";

export const REPO = path.resolve(__dirname, "..", "..", "..");

let toolchain: Promise<PulumiCommand> | undefined;
let toolchainRoot: string | undefined;

/** The folder holding bin/pulumi and the language hosts, from scripts/toolchain.sh (PATH, cache, or a Go build). */
export function pulumiRoot(): string {
    if (!toolchainRoot) {
        const out = execFileSync("bash", [path.join(REPO, "scripts", "toolchain.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
        toolchainRoot = out.trim().split("\n").pop()!;
    }
    return toolchainRoot;
}

/** The real Pulumi engine. */
export function pulumiCommand(): Promise<PulumiCommand> {
    toolchain ??= PulumiCommand.get({ root: pulumiRoot(), skipVersionCheck: true });
    return toolchain;
}

export const PLUGIN_VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as { version: string }).version;

/** The plugin's tarball as `npm run build:plugin` makes it (built here when missing). */
export function pluginTarball(): string {
    const file = path.join(REPO, "dist", "plugin", `pulumi-resource-delta-v${PLUGIN_VERSION}-linux-amd64.tar.gz`);
    if (!fs.existsSync(file)) execFileSync("bash", [path.join(REPO, "scripts", "build-plugin.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    return file;
}

let pluginsTemplate: string | undefined;

/**
 * A Pulumi home's `plugins/` with the plugin installed as users install it
 * (`pulumi plugin install resource delta <version> --file <tarball>`), once
 * per test run; each backend gets a copy.
 */
function installedPlugins(): string {
    if (!pluginsTemplate) {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "pd-plugin-home-"));
        made.push(home);
        execFileSync(path.join(pulumiRoot(), "bin", "pulumi"), ["plugin", "install", "resource", "delta", PLUGIN_VERSION, "--file", pluginTarball()], {
            env: { ...process.env, PULUMI_HOME: home, PULUMI_SKIP_UPDATE_CHECK: "true" },
            stdio: ["ignore", "ignore", "inherit"],
        });
        pluginsTemplate = path.join(home, "plugins");
    }
    return pluginsTemplate;
}

let programs: Map<string, Promise<string>> | undefined;
const made: string[] = [];
process.on("exit", () => {
    for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A copy of a program (a fixture under test/fixtures by name, or any folder
 * by absolute path, e.g. an example) with the library installed as users
 * install it (from `npm pack`), so the provider serialized into state is the
 * one users get. Built once per test run per program.
 */
export function installedProgram(fixture = "program"): Promise<string> {
    programs ??= new Map();
    let p = programs.get(fixture);
    if (!p) {
        p = (async () => {
            const from = path.isAbsolute(fixture) ? fixture : path.join(REPO, "test", "fixtures", fixture);
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pd-it-${path.basename(fixture)}-`));
            made.push(dir);
            fs.cpSync(from, dir, { recursive: true, filter: (src) => !src.includes("node_modules") && !src.endsWith("package-lock.json") });
            const tgz = packedLibrary();
            const sdkVersion = JSON.parse(fs.readFileSync(path.join(REPO, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")).version as string;
            if (!fs.existsSync(path.join(dir, "package.json"))) {
                fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: `pd-it-${path.basename(fixture)}`, private: true, main: "index.js" }, null, 2));
            }
            execFileSync("npm", ["install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", tgz, `@pulumi/pulumi@${sdkVersion}`], { cwd: dir, stdio: "inherit" });
            return dir;
        })();
        programs.set(fixture, p);
    }
    return p;
}

let tarball: string | undefined;

function packedLibrary(): string {
    if (!tarball) {
        const dest = fs.mkdtempSync(path.join(os.tmpdir(), "pd-pack-"));
        made.push(dest);
        const out = execFileSync("npm", ["pack", "--silent", "--pack-destination", dest], { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
        tarball = path.join(dest, out.trim().split("\n").pop()!);
    }
    return tarball;
}

/** A temporary `file://` backend and Pulumi home, as a real user would have locally. */
export interface TestBackend {
    dir: string;
    env: Record<string, string>;
    pulumiHome: string;
    /** Removes the backend (after every stack in it is destroyed). */
    dispose(): void;
}

export function testBackend(): TestBackend {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pd-backend-"));
    const pulumiHome = path.join(dir, "home");
    fs.mkdirSync(path.join(dir, "state"));
    fs.mkdirSync(pulumiHome);
    fs.cpSync(installedPlugins(), path.join(pulumiHome, "plugins"), { recursive: true });
    return {
        dir,
        pulumiHome,
        env: {
            PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "pulumi-delta-tests",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        },
        dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}

export interface StackOptions {
    /** Values set as plain config; `secrets` are set as secret config. */
    config: Record<string, string | number | boolean | object | undefined>;
    secrets?: Record<string, string>;
    /** Extra environment for the engine and the program (e.g. HOME for known_hosts). */
    env?: Record<string, string>;
    fixture?: string;
    /** A program folder to run as it is (e.g. a YAML or Go program, which need no npm install); overrides `fixture`. */
    workDir?: string;
}

function toConfigMap(o: StackOptions): ConfigMap {
    const map: ConfigMap = {};
    for (const [k, v] of Object.entries(o.config)) {
        if (v === undefined) continue;
        map[k] = { value: typeof v === "object" ? JSON.stringify(v) : String(v) };
    }
    for (const [k, v] of Object.entries(o.secrets ?? {})) map[k] = { value: v, secret: true };
    return map;
}

/** A stack of an installed fixture program in the backend. */
export async function newStack(backend: TestBackend, options: StackOptions): Promise<Stack> {
    const workDir = options.workDir ?? (await installedProgram(options.fixture));
    const stackName = `t${crypto.randomBytes(4).toString("hex")}`;
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName, workDir },
        { pulumiCommand: await pulumiCommand(), pulumiHome: backend.pulumiHome, envVars: { ...backend.env, ...(options.env ?? {}) } },
    );
    await stack.setAllConfig(toConfigMap(options));
    return stack;
}

/** Replaces the stack's config (a "next step" of a scenario). */
export async function setConfig(stack: Stack, options: StackOptions): Promise<void> {
    const current = await stack.getAllConfig();
    const prefix = `${(await stack.workspace.projectSettings()).name}:`;
    const stale = Object.keys(current).filter((k) => !(k.slice(prefix.length) in options.config) && !(k.slice(prefix.length) in (options.secrets ?? {})));
    if (stale.length) await stack.removeAllConfig(stale.map((k) => k.slice(prefix.length)));
    await stack.setAllConfig(toConfigMap(options));
}

/** Runs a scenario against a fresh stack and always destroys and removes it after. */
export async function withStack<T>(backend: TestBackend, options: StackOptions, fn: (stack: Stack) => Promise<T>): Promise<T> {
    const stack = await newStack(backend, options);
    try {
        return await fn(stack);
    } finally {
        try {
            await stack.destroy();
        } catch {
            // A scenario may leave a host unreachable on purpose; drop its state anyway.
            await stack.cancel().catch(() => undefined);
        }
        await stack.workspace.removeStack(stack.name, { force: true }).catch(() => undefined);
    }
}

/** Captures everything the engine prints for one operation. */
export function collector(): { onOutput: (s: string) => void; text: () => string } {
    const parts: string[] = [];
    return { onOutput: (s) => parts.push(s), text: () => parts.join("") };
}

export function outputValues(outputs: OutputMap): Record<string, unknown> {
    return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
}

/** Runs the `pulumi` CLI itself on a stack (for what the Automation API does not return, e.g. `preview --json`). */
export async function runCli(backend: TestBackend, stack: Stack, args: string[]): Promise<string> {
    const cmd = await pulumiCommand();
    const bin = path.dirname(cmd.command);
    return execFileSync(cmd.command, [...args, "--stack", stack.name, "--non-interactive"], {
        cwd: stack.workspace.workDir,
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
        env: { ...process.env, ...backend.env, PULUMI_HOME: backend.pulumiHome, PATH: `${bin}:${process.env.PATH}` },
    });
}
