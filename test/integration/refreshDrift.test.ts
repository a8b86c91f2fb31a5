import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { assertRestored, hostSnapshot } from "../helpers/hostTree";
import { collector, outputValues, runCli, StackOptions, testBackend, TestBackend, withStack } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { filesOf, resetTree, tempDir } from "../helpers/tree";

describe("pulumi refresh finds what changed on the host (real engine, real sshd)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let work: string;
    before(async () => {
        backend = testBackend();
        sshd = await startSshd();
        work = tempDir("pd-refresh-");
    });
    after(async () => {
        await sshd.stop();
        backend.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("records an edited and a deleted file, previews them as changed on the host, rewrites exactly them, keeping the edit", async () => {
        const src = path.join(work, "src");
        const dest = path.join(work, "dest");
        const stateDir = path.join(work, "state");
        fs.mkdirSync(dest, { recursive: true });
        fs.writeFileSync(path.join(dest, "theirs.txt"), "was here first\n");
        const pristine = hostSnapshot(dest);
        resetTree(src, { "index.html": "<h1>v1</h1>\n", "app.css": "body{}\n", "keep.txt": "same\n" });
        const opts: StackOptions = {
            config: { source: src, destination: dest, stateDir, host: sshd.host, port: sshd.port, user: sshd.user, hostKey: sshd.hostKey },
            secrets: { privateKey: sshd.privateKey },
        };
        await withStack(backend, opts, async (stack) => {
            await stack.up();
            const clean = collector();
            await stack.refresh({ onOutput: clean.onOutput });
            assert.doesNotMatch(clean.text(), /on the host since the last deployment/);
            assert.deepStrictEqual((await stack.preview()).changeSummary, { same: 2 });

            // Someone edits one file and deletes another on the host.
            fs.writeFileSync(path.join(dest, "index.html"), "<h1>hot fix</h1>\n");
            fs.utimesSync(path.join(dest, "index.html"), new Date(Date.now() + 5000), new Date(Date.now() + 5000));
            fs.rmSync(path.join(dest, "app.css"));
            const refresh = collector();
            await stack.refresh({ onOutput: refresh.onOutput });
            assert.match(refresh.text(), /site: 1 changed, 1 removed on the host since the last deployment → root@127\.0\.0\.1:\d+:\S+\n\s+~ index\.html\n\s+- app\.css/);

            const plain = collector();
            await stack.preview({ onOutput: plain.onOutput });
            assert.match(plain.text(), /site: 1 added, 1 changed, 0 removed, 1 unchanged/);
            assert.match(plain.text(), /changed on the host since the last deployment \(pulumi refresh\): app\.css, index\.html/);
            const diff = await runCli(backend, stack, ["preview", "--diff"]);
            assert.match(diff, /\+ app\.css\s*: "0644 sha256:[0-9a-f]{64}"/);
            assert.match(diff, /~ index\.html\s*: "0644 sha256:([0-9a-f]{64})" => "0644 sha256:(?!\1)[0-9a-f]{64}"/);
            assert.doesNotMatch(diff, /keep\.txt/);

            const up = await stack.up();
            assert.deepStrictEqual(outputValues(up.outputs).lastDelta, { added: 1, changed: 1, removed: 0, bytesSent: 19 });
            assert.deepStrictEqual({ ...filesOf(dest), "theirs.txt": undefined }, { ...filesOf(src), "theirs.txt": undefined });
            const record = outputValues(up.outputs).lastRecord as { changes: { file: string; handEdited?: string }[] };
            const kept = record.changes.find((c) => c.file === path.join(dest, "index.html"))?.handEdited;
            assert.ok(kept && fs.readFileSync(kept, "utf8") === "<h1>hot fix</h1>\n", `the hand-edited version is kept and named: ${JSON.stringify(record.changes)}`);
            assert.deepStrictEqual((await stack.preview()).changeSummary, { same: 2 }, "converged");

            await stack.destroy();
            assertRestored(dest, pristine, "destroy puts the host back as it was before the first deployment");
        });
    });
});
