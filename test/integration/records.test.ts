import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { deploy, destinationKey, destroy, DeltaRecord, DeltaRecordSummary } from "../../sdk/apply";
import { buildManifest } from "../../sdk/manifest";
import { LocalTransport } from "../../sdk/transport";
import { parseHistoryArgs, UsageError } from "../../sdk/cli/history";
import { outputValues, testBackend, withStack } from "../helpers/pulumi";
import { resetTree, tempDir, writeTree } from "../helpers/tree";

function sha256(s: string): string {
    return crypto.createHash("sha256").update(s).digest("hex");
}

function recordsIn(folder: string): DeltaRecord[] {
    return fs
        .readdirSync(path.join(folder, "records"))
        .sort()
        .map((n) => JSON.parse(fs.readFileSync(path.join(folder, "records", n), "utf8")) as DeltaRecord);
}

describe("delta records of a directory deployment (real engine, local target)", function () {
    it("records create, update (of a file no deployment wrote) and delete, with their rollback, for each up and the destroy", async () => {
        const work = tempDir("pd-it-records-");
        const backend = testBackend();
        try {
            const src = path.join(work, "src");
            const dest = path.join(work, "site");
            const stateDir = path.join(work, "state");
            const folder = path.join(stateDir, destinationKey(dest));
            resetTree(src, { "index.html": "v1\n", "a/new.txt": "new\n", "gone.txt": "gone\n" });
            writeTree(dest, { "index.html": "ORIGINAL\n" });
            await withStack(backend, { config: { source: src, destination: dest, stateDir } }, async (stack) => {
                const up1 = await stack.up();
                const r1 = outputValues(up1.outputs).lastRecord as DeltaRecord;
                assert.deepStrictEqual(r1.changes, [
                    { file: path.join(dest, "a/new.txt"), action: "create", sha256: sha256("new\n"), bytes: 4 },
                    { file: path.join(dest, "gone.txt"), action: "create", sha256: sha256("gone\n"), bytes: 5 },
                    { file: path.join(dest, "index.html"), action: "update", sha256: sha256("v1\n"), bytes: 3 },
                ]);
                assert.deepStrictEqual(r1.rollback, [
                    { file: path.join(dest, "a/new.txt"), action: "delete", backup: null },
                    { file: path.join(dest, "gone.txt"), action: "delete", backup: null },
                    { file: path.join(dest, "index.html"), action: "restore", backup: path.join(folder, "originals", "index.html") },
                ]);
                assert.deepStrictEqual([r1.project, r1.stack, r1.resource, r1.operation, r1.host, r1.destination], ["pulumi-delta-it", stack.name, "site", "deploy", "local", dest]);
                assert.ok(!Number.isNaN(Date.parse(r1.time)));

                resetTree(src, { "index.html": "v1\n", "a/new.txt": "new 2\n" });
                const up2 = await stack.up();
                const r2 = outputValues(up2.outputs).lastRecord as DeltaRecord;
                assert.deepStrictEqual(r2.changes, [
                    { file: path.join(dest, "a/new.txt"), action: "update", sha256: sha256("new 2\n"), bytes: 6 },
                    { file: path.join(dest, "gone.txt"), action: "delete", sha256: sha256("gone\n"), bytes: 5 },
                ]);
                assert.deepStrictEqual(r2.rollback, [
                    { file: path.join(dest, "a/new.txt"), action: "restore", backup: null },
                    { file: path.join(dest, "gone.txt"), action: "restore", backup: null },
                ]);

                // No change: no deployment, no record; lastRecord stays.
                const up3 = await stack.up();
                assert.deepStrictEqual(outputValues(up3.outputs).lastRecord, r2);

                await stack.destroy();
                const all = recordsIn(folder);
                assert.deepStrictEqual(all.slice(0, 2), [r1, r2]);
                assert.strictEqual(all.length, 3);
                assert.deepStrictEqual(all[2].operation, "destroy");
                assert.deepStrictEqual(all[2].changes, [
                    { file: path.join(dest, "a/new.txt"), action: "delete", sha256: sha256("new 2\n"), bytes: 6 },
                    { file: path.join(dest, "index.html"), action: "update", sha256: sha256("ORIGINAL\n"), bytes: 9 },
                ]);
                assert.deepStrictEqual(fs.readFileSync(path.join(dest, "index.html"), "utf8"), "ORIGINAL\n");
            });
        } finally {
            backend.dispose();
            fs.rmSync(work, { recursive: true, force: true });
        }
    });

    it("refuses bad hook inputs in check, naming each input and the fix", async () => {
        const work = tempDir("pd-it-hookinputs-");
        const backend = testBackend();
        try {
            resetTree(path.join(work, "src"), { "a.txt": "a\n" });
            const config = { source: path.join(work, "src"), destination: path.join(work, "dest"), validate: "check {staged}", onChange: "reload {staged}", hookTimeout: -1 };
            await withStack(backend, { config }, async (stack) => {
                await assert.rejects(stack.preview(), (err: Error) => {
                    assert.match(err.message, /validate "check \{staged\}" uses \{staged\}, which needs a single-file source, but source is a directory; drop \{staged\} to run the command after the new files are in place/);
                    assert.match(err.message, /onChange "reload \{staged\}" uses \{staged\}, which only validate supports/);
                    assert.match(err.message, /hookTimeout must be a positive number of seconds such as 60, got -1/);
                    return true;
                });
            });
        } finally {
            backend.dispose();
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});

describe("delta records (apply engine, local)", function () {
    it("returns counts and the record's path instead of a record listing more than 1,000 files", async () => {
        const work = tempDir("pd-records-big-");
        try {
            const src = path.join(work, "src");
            const spec: Record<string, string> = {};
            for (let i = 0; i < 1001; i++) spec[`f${i}.txt`] = `${i}\n`;
            resetTree(src, spec);
            const dest = path.join(work, "dest");
            const stateDir = path.join(work, "state");
            const r = await deploy(new LocalTransport(), { source: src, destination: dest, stateDir, next: buildManifest(src), owner: { project: "p", stack: "s", resource: "r" } });
            const summary = r.record as DeltaRecordSummary;
            assert.deepStrictEqual(Object.keys(summary).sort(), ["changeCount", "id", "operation", "path", "rollbackCount", "time"]);
            assert.deepStrictEqual([summary.changeCount, summary.rollbackCount, summary.operation], [1001, 1001, "deploy"]);
            const full = JSON.parse(fs.readFileSync(summary.path, "utf8")) as DeltaRecord;
            assert.strictEqual(full.changes.length, 1001);
            assert.deepStrictEqual([full.project, full.stack, full.resource], ["p", "s", "r"]);
            const d = await destroy(new LocalTransport(), { destination: dest, stateDir, deployed: buildManifest(src), createdDirs: r.createdDirs, onDestroy: "restore" });
            assert.strictEqual(d.removed, 1001);
            assert.strictEqual(JSON.parse(fs.readFileSync(d.recordPath!, "utf8")).changes.length, 1001);
            assert.ok(!fs.existsSync(dest));
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});

describe("pulumi-delta history arguments", function () {
    it("reads OpenSSH-style connection flags and refuses what it does not support, naming the fix", () => {
        const dir = tempDir("pd-cli-");
        const key = path.join(dir, "id");
        fs.writeFileSync(key, "KEY TEXT");
        let o;
        try {
            o = parseHistoryArgs(["/etc/nginx/conf.d/app.conf", "--state-dir", "/var/lib/x", "-p", "2222", "-i", key, "-o", "StrictHostKeyChecking=no", "deploy@10.0.0.5", "--show", "abc"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        assert.deepStrictEqual(o, {
            destination: "/etc/nginx/conf.d/app.conf",
            show: "abc",
            json: false,
            stateDir: "/var/lib/x",
            connection: { host: "10.0.0.5", user: "deploy", port: 2222, insecureIgnoreHostKey: true, dialErrorLimit: 1, privateKey: "KEY TEXT" },
        });
        assert.deepStrictEqual(parseHistoryArgs(["/srv/site"]), { destination: "/srv/site", show: undefined, json: false, stateDir: undefined });
        assert.throws(() => parseHistoryArgs([]), (e: Error) => e instanceof UsageError && e.message === "<destination> is required");
        assert.throws(() => parseHistoryArgs(["srv/site"]), /<destination> must be the absolute path the deployment targets, got "srv\/site"/);
        assert.throws(() => parseHistoryArgs(["/srv", "-p", "x"]), /-p must be a port number, got "x"/);
        assert.throws(() => parseHistoryArgs(["/srv", "-o", "BatchMode=yes", "h"]), /-o BatchMode=yes is not supported; only -o StrictHostKeyChecking=no/);
        assert.throws(() => parseHistoryArgs(["/srv", "-i", "/nonexistent/key", "h"]), /cannot read key file \/nonexistent\/key: ENOENT/);
    });
});
