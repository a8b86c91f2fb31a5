import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { assertHost, assertRestored, hostSnapshot, HostSnapshot, plantHost } from "../helpers/hostTree";
import { collector, outputValues, setConfig, StackOptions, TestBackend, testBackend, withStack } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { resetTree, tempDir, TreeSpec } from "../helpers/tree";

/**
 * The mass-deletion guard through the real engine and a real sshd: an update
 * that would empty the deployment, or remove more than `maxDelete`, fails
 * `pulumi preview` (the plugin's Diff) with the input that allows it named,
 * so CI stops before `up`; `up` itself fails the same way and leaves the host
 * and the state folder exactly as they were; the override lets it through.
 * The preview runs with an empty hash cache (a fresh runner): the deployed
 * manifest comes from state.
 */

function tree(n: number, from = 0): TreeSpec {
    return Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${(i + from) % 3}/f${i + from}.txt`, `file ${i + from}\n`]));
}

/** What the engine printed (or the error it failed with), as one text. */
async function failed(stack: Stack, op: "preview" | "up"): Promise<string> {
    const out = collector();
    try {
        await (op === "preview" ? stack.preview({ onOutput: out.onOutput }) : stack.up({ onOutput: out.onOutput }));
    } catch (err) {
        return `${(err as Error).message}\n${out.text()}`;
    }
    assert.fail(`${op} succeeded but should have been refused:\n${out.text()}`);
}

describe("mass-deletion guard (real engine, real sshd)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let work: string;

    before(async () => {
        backend = testBackend();
        sshd = await startSshd();
    });
    after(async () => {
        await sshd?.stop();
        backend?.dispose();
    });
    beforeEach(() => (work = tempDir("pd-it-guard-")));
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    /** The host before any deployment: the destination holds a file of its own, a neighbour beside it. */
    function plant(host: string): HostSnapshot {
        plantHost(host, { srv: 0o755, "srv/site": 0o755 }, { "srv/site/own.txt": { content: "the host's own\n", mode: 0o644 }, "srv/beside.txt": { content: "neighbour\n", mode: 0o644 } });
        return hostSnapshot(host);
    }

    function options(config: Record<string, string | number | boolean | object | undefined>): StackOptions {
        return {
            fixture: "single",
            env: { PULUMI_DELTA_CACHE_DIR: path.join(work, "cache") },
            config: { host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey, destination: path.join(work, "host", "srv", "site"), stateDir: path.join(work, "state"), ...config },
            secrets: { privateKey: sshd.privateKey },
        };
    }

    for (const diffFileLimit of [1000, 3]) {
        const layout = diffFileLimit === 1000 ? "per-file map" : "digest only, above diffFileLimit";
        it(`refuses an emptied source in preview and up, naming source and allowEmptySource, and lets it through with allowEmptySource (${layout})`, async () => {
            const src = path.join(work, "src");
            const host = path.join(work, "host");
            resetTree(src, tree(6));
            const pristine = plant(host);
            await withStack(backend, options({ source: src, diffFileLimit }), async (stack) => {
                await stack.up();
                assertHost(host, pristine, [{ at: "srv/site", source: src }], "after the first up");
                const deployedHost = hostSnapshot(host);
                const deployedState = hostSnapshot(path.join(work, "state"));

                // The build produced nothing: an empty folder. A fresh runner: no hash cache, no stored manifest.
                resetTree(src, {});
                fs.rmSync(path.join(work, "cache"), { recursive: true, force: true });
                const preview = await failed(stack, "preview");
                assert.match(preview, /refused: this update of site would remove all 6 files deployed to [^ ]+:\/[^ ]*\/srv\/site and add none/, preview);
                assert.ok(preview.includes(`because source ${JSON.stringify(src)} holds no files`), preview);
                assert.match(preview, /to empty the deployment on purpose, set allowEmptySource: true/, preview);
                // The delta it refused is listed too, so the user sees what would have gone.
                assert.match(preview, /site: 0 added, 0 changed, 6 removed, 0 unchanged/, preview);

                const up = await failed(stack, "up");
                assert.match(up, /refused: this update of site would remove all 6 files/, up);
                assert.deepStrictEqual(hostSnapshot(host), deployedHost, "a refused up touched the host");
                assert.deepStrictEqual(hostSnapshot(path.join(work, "state")), deployedState, "a refused up touched the state folder");

                // A missing folder is another error, from Check: it names the path and says what to give.
                await setConfig(stack, options({ source: path.join(work, "no-such-build"), diffFileLimit }));
                const missing = await failed(stack, "preview");
                assert.match(missing, /source "[^"]*no-such-build" does not exist or cannot be read \(ENOENT\)/, missing);

                // On purpose: allowEmptySource lets the same update through, and it removes exactly the deployed files.
                await setConfig(stack, options({ source: src, diffFileLimit, allowEmptySource: true }));
                const out = await stack.up();
                assert.deepStrictEqual(outputValues(out.outputs).lastDelta, { added: 0, changed: 0, removed: 6, bytesSent: 0 });
                assertRestored(host, pristine, "after emptying on purpose: only the host's own files are left");
                await stack.destroy();
                assertRestored(host, pristine, "after destroy");
            });
        });
    }

    it("refuses an exclude that excludes everything, naming it", async () => {
        const src = path.join(work, "src");
        resetTree(src, tree(4));
        const host = path.join(work, "host");
        plant(host);
        await withStack(backend, options({ source: src }), async (stack) => {
            await stack.up();
            await setConfig(stack, options({ source: src, exclude: ["*.txt"] }));
            const text = await failed(stack, "preview");
            assert.match(text, /would remove all 4 files deployed to .* and add none, because source "[^"]+" holds no files once exclude \["\*\.txt"\] applies/, text);
        });
    });

    it("refuses a removal over maxDelete (a percentage, then a count) in preview and up; raising it lets it through", async () => {
        const src = path.join(work, "src");
        const host = path.join(work, "host");
        resetTree(src, tree(10));
        const pristine = plant(host);
        await withStack(backend, options({ source: src, maxDelete: "25%" }), async (stack) => {
            await stack.up();
            const deployedHost = hostSnapshot(host);
            // v2: 4 of the 10 files gone (40%), 2 added.
            resetTree(src, { ...tree(6), ...tree(2, 100) });
            const preview = await failed(stack, "preview");
            assert.match(preview, /refused: this update of site would remove 4 of the 10 files deployed to .*\(40%\), more than maxDelete "25%" \(2 files of 10\) allows; check source "[^"]+"\. If the removal is intended, raise maxDelete \(or remove it\) for this update/, preview);
            await setConfig(stack, options({ source: src, maxDelete: 3 }));
            const up = await failed(stack, "up");
            assert.match(up, /would remove 4 of the 10 files .* more than maxDelete 3 allows/, up);
            assert.deepStrictEqual(hostSnapshot(host), deployedHost, "a refused up touched the host");

            await setConfig(stack, options({ source: src, maxDelete: "40%" }));
            const out = await stack.up();
            assert.deepStrictEqual(outputValues(out.outputs).lastDelta, { added: 2, changed: 0, removed: 4, bytesSent: 2 * "file 100\n".length });
            assertHost(host, pristine, [{ at: "srv/site", source: src }], "after the allowed removal");
        });
    });

    it("a bad maxDelete fails the preview naming the input, the value and the fix", async () => {
        const src = path.join(work, "src");
        resetTree(src, tree(2));
        plant(path.join(work, "host"));
        await withStack(backend, options({ source: src, maxDelete: "120%" }), async (stack) => {
            const text = await failed(stack, "preview");
            assert.match(text, /maxDelete "120%" is more than "100%" of the deployed files; give a whole number of files such as 50, or a percentage of the deployed files such as "10%"; omit it for no limit/, text);
        });
    });
});
