import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildManifest, encodeManifest } from "../../sdk/manifest";
import { deltaDeployment, fileKey } from "../../sdk/plugin/resources/deltaDeployment";
import type { PlainObject } from "../../sdk/plugin/server/codec";
import { UNKNOWN } from "../../sdk/plugin/server/codec";
import type { ResourceContext } from "../../sdk/plugin/resources/types";

/** The lines a user sees: the engine shows debug lines only with --debug. */
function context(lines: string[]): ResourceContext {
    return { urn: "urn:pulumi:dev::proj::delta:index:DeltaDeployment::site", name: "site", project: "proj", stack: "dev", log: (m, severity) => void (severity !== "debug" && lines.push(m)) };
}

function tree(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pd-plugin-unit-"));
    for (const [p, c] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
        fs.writeFileSync(path.join(dir, p), c);
    }
    return dir;
}

/** The outputs a deployment of `inputs` leaves: the checked inputs plus the deployed manifest. */
function deployedOutputs(inputs: PlainObject): PlainObject {
    return { ...inputs, deployed: encodeManifest(buildManifest(inputs.source as string, [])), createdDirs: "", instanceId: "abc", lastDelta: null, lastRecord: null };
}

describe("plugin DeltaDeployment check and diff", () => {
    const base = { destination: "/srv/site", stateDir: "/var/lib/pulumi-delta" };

    it("check hashes the source into the per-file map and lists a create's files", async () => {
        const src = tree({ "a.txt": "a", "d/b.txt": "b" });
        const lines: string[] = [];
        const r = await deltaDeployment.check(context(lines), {}, { ...base, source: src });
        assert.deepStrictEqual(r.failures, []);
        assert.deepStrictEqual(Object.keys(r.inputs.files as object).sort(), ["a.txt", "d/b.txt"]);
        assert.match((r.inputs.files as Record<string, string>)["a.txt"], /^0644 sha256:[0-9a-f]{64}$/);
        assert.strictEqual(r.inputs.kind, "dir");
        assert.strictEqual(r.inputs.fileCount, 2);
        assert.strictEqual(r.inputs.onDestroy, "restore");
        assert.match(lines.join("\n"), /^site: 2 added, 0 changed, 0 removed, 0 unchanged → local:\/srv\/site\n  \+ a\.txt\n  \+ d\/b\.txt$/);
    });

    it("check names each bad input and skips an unknown source", async () => {
        const r = await deltaDeployment.check(context([]), {}, { source: "", destination: "relative/path", diffFileLimit: -1 });
        assert.deepStrictEqual(r.failures.map((f) => f.property).sort(), ["destination", "diffFileLimit", "source"]);
        const u = await deltaDeployment.check(context([]), {}, { ...base, source: UNKNOWN });
        assert.deepStrictEqual(u.failures, []);
        assert.strictEqual(u.inputs.manifestDigest, UNKNOWN);
    });

    it("diff marks exactly the added, changed and removed files", async () => {
        const src = tree({ "keep.txt": "k", "change.txt": "1", "gone.txt": "g" });
        const v1 = (await deltaDeployment.check(context([]), {}, { ...base, source: src })).inputs;
        const olds = deployedOutputs(v1);
        fs.writeFileSync(path.join(src, "change.txt"), "2");
        fs.rmSync(path.join(src, "gone.txt"));
        fs.writeFileSync(path.join(src, "new.txt"), "n");
        const src2 = fs.mkdtempSync(path.join(os.tmpdir(), "pd-plugin-unit-"));
        fs.cpSync(src, src2, { recursive: true }); // a fresh path: the per-process walk cache keys on the source
        const v2 = (await deltaDeployment.check(context([]), v1, { ...base, source: src2 })).inputs;
        const lines: string[] = [];
        const d = await deltaDeployment.diff(context(lines), "id", olds, v2, v1);
        assert.strictEqual(d.changes, true);
        assert.deepStrictEqual(d.replaces, []);
        assert.deepStrictEqual(d.detailedDiff, { source: "update", [fileKey("new.txt")]: "add", [fileKey("change.txt")]: "update", [fileKey("gone.txt")]: "delete" });
        assert.match(lines.join("\n"), /1 added, 1 changed, 1 removed, 1 unchanged/);
    });

    it("diff of an unchanged tree reports no change and logs nothing", async () => {
        const src = tree({ "a.txt": "a" });
        const v1 = (await deltaDeployment.check(context([]), {}, { ...base, source: src })).inputs;
        const lines: string[] = [];
        const d = await deltaDeployment.diff(context(lines), "id", deployedOutputs(v1), v1, v1);
        assert.deepStrictEqual(d, { changes: false, replaces: [], deleteBeforeReplace: false, detailedDiff: {} });
        assert.deepStrictEqual(lines, []);
    });

    it("above diffFileLimit the digest marks the change and the log names the files", async () => {
        const src = tree({ "a.txt": "a", "b.txt": "b", "c.txt": "c" });
        const v1 = (await deltaDeployment.check(context([]), {}, { ...base, source: src, diffFileLimit: 2 })).inputs;
        assert.strictEqual(v1.files, undefined);
        const src2 = fs.mkdtempSync(path.join(os.tmpdir(), "pd-plugin-unit-"));
        fs.cpSync(src, src2, { recursive: true });
        fs.writeFileSync(path.join(src2, "b.txt"), "B");
        const v2 = (await deltaDeployment.check(context([]), v1, { ...base, source: src2, diffFileLimit: 2 })).inputs;
        const lines: string[] = [];
        const d = await deltaDeployment.diff(context(lines), "id", deployedOutputs({ ...v1 }), v2, v1);
        assert.deepStrictEqual(d.detailedDiff, { source: "update", manifestDigest: "update" });
        assert.match(lines.join("\n"), /0 added, 1 changed, 0 removed, 2 unchanged[^\n]*\n  ~ b\.txt$/);
    });

    it("a new destination replaces, the old one removed first", async () => {
        const src = tree({ "a.txt": "a" });
        const v1 = (await deltaDeployment.check(context([]), {}, { ...base, source: src })).inputs;
        const d = await deltaDeployment.diff(context([]), "id", deployedOutputs(v1), { ...v1, destination: "/srv/other" }, v1);
        assert.deepStrictEqual(d.replaces, ["destination"]);
        assert.strictEqual(d.deleteBeforeReplace, true);
        assert.strictEqual(d.detailedDiff?.destination, "update-replace");
    });
});
