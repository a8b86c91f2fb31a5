import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { assertHost, assertRestored, hostSnapshot, HostSnapshot, plantHost } from "./hostTree";
import { collector, outputValues, TestBackend, withStack } from "./pulumi";
import { Sshd } from "./sshd";
import { resetTree, TreeSpec } from "./tree";

/**
 * The scenario a DeltaDeployment program in any language runs against the
 * real engine and a real sshd (test/integration/yamlProgram.test.ts,
 * goProgram.test.ts): the program is the language's; the plugin, the host
 * and what must happen to it are the same.
 */

const V1: TreeSpec = {
    "index.html": "<h1>v1</h1>\n",
    "css/site.css": "body { color: black }\n",
    "js/app.js": "console.log('v1')\n",
    "img/logo.svg": "<svg/>\n",
    "docs/guide/intro.txt": "intro v1\n",
};

/** v2: one changed, one added, one removed; three unchanged. */
const V2: TreeSpec = {
    "index.html": "<h1>v2</h1>\n",
    "css/site.css": V1["css/site.css"],
    "js/app.js": V1["js/app.js"],
    "img/logo.svg": V1["img/logo.svg"],
    "fonts/new.woff": "new font\n",
};
const UNCHANGED = ["css/site.css", "js/app.js", "img/logo.svg"];

/** What the engine marks under `files` in `preview --diff`: lines like `~ index.html: "0644 sha256:…" => "0644 sha256:…"`. */
export function markedFiles(text: string): string[] {
    return [...text.matchAll(/^\s+([~+-]) ([^\s:]+)\s*: "\d{4} sha256:/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
}

export interface ScenarioOptions {
    backend: TestBackend;
    sshd: Sshd;
    /** An empty temporary folder for the source, the host tree and the state folder. */
    work: string;
    /** The program's folder, run as it is. */
    workDir: string;
    /** Environment for the engine and the language host (e.g. Go's build settings). */
    env?: Record<string, string>;
}

export interface ScenarioResult {
    /** What `pulumi preview --diff` printed for the 3-file delta. */
    diffText: string;
    /** What plain `pulumi preview` printed after the refresh that found drift. */
    driftText: string;
}

function bytes(spec: TreeSpec, paths: string[]): number {
    return paths.reduce((n, p) => n + Buffer.byteLength(spec[p] as string), 0);
}

/** The host before any deployment: a file the source overwrites, one it lacks, and a neighbour beside the destination. */
function seedHost(hostRoot: string): HostSnapshot {
    plantHost(
        hostRoot,
        { www: 0o755, "www/site": 0o750 },
        {
            "www/site/index.html": { content: "ORIGINAL index\n", mode: 0o640 },
            "www/site/keep.txt": { content: "not ours\n", mode: 0o600 },
            "www/beside.txt": { content: "neighbour\n", mode: 0o644 },
        },
    );
    return hostSnapshot(hostRoot);
}

async function step<T>(stack: Stack, name: string, op: (o: { onOutput: (s: string) => void }) => Promise<T>): Promise<{ result: T; text: string }> {
    const out = collector();
    try {
        return { result: await op({ onOutput: out.onOutput }), text: out.text() };
    } catch (err) {
        throw new Error(`${name} of stack ${stack.name} failed: ${(err as Error).message}\n--- engine output ---\n${out.text()}`);
    }
}

/**
 * Deploy over SSH; a 3-file delta shown by `preview --diff` and applied;
 * drift on the host found by `refresh`, named by `preview` and repaired by
 * `up`; destroy puts the host back exactly as it was.
 */
export async function runDeploymentScenario(o: ScenarioOptions): Promise<ScenarioResult> {
    const src = path.join(o.work, "src");
    const hostRoot = path.join(o.work, "host");
    const dest = path.join(hostRoot, "www", "site");
    const stateDir = path.join(o.work, "state");
    resetTree(src, V1);
    const before = seedHost(hostRoot);
    const deployed = [{ at: "www/site", source: src }];
    const { sshd } = o;
    const options = {
        workDir: o.workDir,
        env: o.env,
        config: { source: src, destination: dest, stateDir, host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey },
        secrets: { privateKey: sshd.privateKey },
    };
    return withStack(o.backend, options, async (stack) => {
        const up1 = await step(stack, "first up", (x) => stack.up(x));
        assertHost(hostRoot, before, deployed, "after the first up: the source over what was there, nothing else");
        assert.deepStrictEqual(outputValues(up1.result.outputs).lastDelta, { added: 5, changed: 0, removed: 0, bytesSent: bytes(V1, Object.keys(V1)) });
        // exportStack would decrypt: read the backend's file as stored.
        const project = (await stack.workspace.projectSettings()).name;
        const stored = fs.readFileSync(path.join(o.backend.dir, "state", ".pulumi", "stacks", project, `${stack.name}.json`), "utf8");
        assert.ok(!stored.includes(sshd.privateKey.split("\n")[1]), "the private key is in state in the clear");

        // The 3-file delta: exactly its files marked under `files`, old => new for the changed one, no unchanged file.
        resetTree(src, V2);
        const diff = await step(stack, "preview --diff", (x) => stack.preview({ diff: true, ...x }));
        assert.deepStrictEqual(markedFiles(diff.text), ["+ fonts/new.woff", "- docs/guide/intro.txt", "~ index.html"], diff.text);
        assert.match(diff.text, /~ index\.html\s*: "0644 sha256:[0-9a-f]{64}" => "0644 sha256:[0-9a-f]{64}"/);
        assert.match(diff.text, /\+ fonts\/new\.woff\s*: "0644 sha256:[0-9a-f]{64}"/);
        assert.match(diff.text, /- docs\/guide\/intro\.txt\s*: "0644 sha256:[0-9a-f]{64}"/);
        assert.match(diff.text, /~ files\s*: \{/, "the markers sit under files");
        for (const p of UNCHANGED) assert.ok(!diff.text.includes(p), `preview --diff names unchanged ${p}:\n${diff.text}`);

        const up2 = await step(stack, "second up", (x) => stack.up(x));
        assert.deepStrictEqual(outputValues(up2.result.outputs).lastDelta, { added: 1, changed: 1, removed: 1, bytesSent: bytes(V2, ["index.html", "fonts/new.woff"]) });
        assertHost(hostRoot, before, deployed, "after the 3-file delta");
        assert.ok(!fs.existsSync(path.join(dest, "docs")), "the folders only the removed file needed are gone");

        // Drift: a deployed file edited on the host, another deleted; refresh records it, preview names both, up repairs them.
        fs.writeFileSync(path.join(dest, "css", "site.css"), "body { color: red } /* edited on the host */\n");
        fs.rmSync(path.join(dest, "js", "app.js"));
        await step(stack, "refresh", (x) => stack.refresh(x));
        const drift = await step(stack, "preview after refresh", (x) => stack.preview(x));
        assert.match(drift.text, /changed on the host since the last deployment \(pulumi refresh\): /, drift.text);
        const named = drift.text.match(/changed on the host since the last deployment \(pulumi refresh\): (.*)$/m)![1].split(", ").sort();
        assert.deepStrictEqual(named, ["css/site.css", "js/app.js"], drift.text);
        const up3 = await step(stack, "up after drift", (x) => stack.up(x));
        assert.deepStrictEqual(outputValues(up3.result.outputs).lastDelta, { added: 1, changed: 1, removed: 0, bytesSent: bytes(V2, ["css/site.css", "js/app.js"]) });
        assertHost(hostRoot, before, deployed, "after up repaired the drift");

        await step(stack, "destroy", (x) => stack.destroy(x));
        assertRestored(hostRoot, before, "after destroy: the host exactly as it was");
        return { diffText: diff.text, driftText: drift.text };
    });
}
