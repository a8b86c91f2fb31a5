import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PLUGIN_VERSION, REPO } from "../helpers/pulumi";
import { tempDir } from "../helpers/tree";

/**
 * The SDKs no program here can run (no PyPI, no .NET SDK on these
 * machines): the Python SDK is byte-compiled, the .NET SDK is checked to be
 * there, whole, at the plugin's version. Go and YAML programs run against
 * the plugin in goProgram, yamlProgram and yamlComponents tests.
 */

const SCHEMA = JSON.parse(fs.readFileSync(path.join(REPO, "provider", "schema.json"), "utf8")) as { resources: Record<string, unknown> };
const TOKENS = Object.keys(SCHEMA.resources).sort();

/** Every file under `dir` whose name ends with `ext`, relative to `dir`, sorted. */
function filesUnder(dir: string, ext: string): string[] {
    return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith(ext) && !f.includes("__pycache__")).sort();
}

/** Runs `python3 -m py_compile` over every .py file under `root`, byte code kept out of the tree. */
function pyCompile(root: string): { files: string[]; status: number | null; stderr: string } {
    const files = filesUnder(root, ".py");
    const cache = tempDir("pd-pycache-");
    try {
        const r = spawnSync("python3", ["-m", "py_compile", ...files], { cwd: root, encoding: "utf8", env: { ...process.env, PYTHONPYCACHEPREFIX: cache } });
        return { files, status: r.status, stderr: r.stderr };
    } finally {
        fs.rmSync(cache, { recursive: true, force: true });
    }
}

function pluginJson(file: string): unknown {
    return JSON.parse(fs.readFileSync(file, "utf8"));
}

describe("SDKs for languages that cannot run here (Python byte-compiles, .NET is there)", () => {
    const python = path.join(REPO, "sdk", "python");
    const dotnet = path.join(REPO, "sdk", "dotnet");
    const plugin = { resource: true, name: "delta", version: PLUGIN_VERSION };

    it("the Python SDK: every .py under sdk/python byte-compiles, one class per resource, at the plugin's version", () => {
        const r = pyCompile(python);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(r.stderr, "");
        for (const m of ["__init__", "_inputs", "_utilities", "outputs", "provider", "delta_deployment", "delta_fleet", "sql_delta", "sql_deltas"]) {
            assert.ok(r.files.includes(`pulumi_delta/${m}.py`), `pulumi_delta/${m}.py missing from ${r.files.join(", ")}`);
        }
        const text = r.files.map((f) => fs.readFileSync(path.join(python, f), "utf8")).join("\n");
        for (const t of TOKENS) assert.ok(text.includes(`@pulumi.type_token("${t}")`), `no Python class for ${t}`);
        assert.deepStrictEqual(pluginJson(path.join(python, "pulumi_delta", "pulumi-plugin.json")), plugin);
        assert.match(fs.readFileSync(path.join(python, "pyproject.toml"), "utf8"), new RegExp(`^\\s*version = "${PLUGIN_VERSION.replace(/\./g, "\\.")}"$`, "m"));
    });

    it("the byte-compile check fails on a broken module, naming it", () => {
        const copy = tempDir("pd-pysdk-");
        try {
            fs.cpSync(python, copy, { recursive: true, filter: (src) => !src.includes("__pycache__") });
            fs.appendFileSync(path.join(copy, "pulumi_delta", "sql_deltas.py"), "\ndef broken(:\n");
            const r = pyCompile(copy);
            assert.notStrictEqual(r.status, 0);
            assert.match(r.stderr, /pulumi_delta\/sql_deltas\.py/);
            assert.match(r.stderr, /SyntaxError/);
        } finally {
            fs.rmSync(copy, { recursive: true, force: true });
        }
    });

    it("the .NET SDK (scripts/gen-sdk.sh; not built, no .NET SDK here): one class per resource, its args, at the plugin's version", () => {
        const files = filesUnder(dotnet, ".cs");
        for (const f of ["DeltaDeployment.cs", "DeltaFleet.cs", "SqlDelta.cs", "SqlDeltas.cs", "Provider.cs", "Enums.cs", "Utilities.cs", "Inputs/ConnectionArgs.cs", "Inputs/FleetHostArgs.cs", "Inputs/TenantArgs.cs"]) {
            assert.ok(files.includes(f), `sdk/dotnet/${f} missing from ${files.join(", ")}`);
        }
        const text = files.map((f) => fs.readFileSync(path.join(dotnet, f), "utf8")).join("\n");
        for (const t of TOKENS) assert.ok(text.includes(`[DeltaResourceType("${t}")]`), `no .NET class for ${t}`);
        assert.deepStrictEqual(pluginJson(path.join(dotnet, "pulumi-plugin.json")), plugin);
        assert.strictEqual(fs.readFileSync(path.join(dotnet, "version.txt"), "utf8").trim(), PLUGIN_VERSION);
        assert.match(fs.readFileSync(path.join(dotnet, "PulumiDelta.Delta.csproj"), "utf8"), new RegExp(`<Version>${PLUGIN_VERSION.replace(/\./g, "\\.")}</Version>`));
    });
});
