import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { deploy } from "../../sdk/apply";
import { deployRelease, removeReleases } from "../../sdk/apply/releases";
import { buildManifest } from "../../sdk/manifest";
import { LocalTransport } from "../../sdk/transport";
import { filesOf, resetTree, tempDir, TreeSpec } from "../helpers/tree";

/**
 * A run killed (SIGKILL) at each moment of a release deployment: while the
 * release is being built, while validate runs against it, and after the
 * flip while onChange runs (before the commit). The next run puts things
 * right: destination never points at an unfinished release, and the
 * release the killed run was making is gone.
 */

function tree(version: string, n: number): TreeSpec {
    const spec: TreeSpec = { "a.txt": `${version}\n` };
    for (let i = 0; i < n; i++) spec[`d${i % 20}/f${i}.txt`] = `${version} ${i} `.repeat(50);
    return spec;
}

const CHILD = `
const { deployRelease } = require(${JSON.stringify(path.resolve(__dirname, "../../sdk/apply/releases"))});
const { buildManifest } = require(${JSON.stringify(path.resolve(__dirname, "../../sdk/manifest"))});
const { LocalTransport } = require(${JSON.stringify(path.resolve(__dirname, "../../sdk/transport"))});
const a = JSON.parse(process.argv[1]);
const { removeReleases } = require(${JSON.stringify(path.resolve(__dirname, "../../sdk/apply/releases"))});
(a.destroy
  ? removeReleases(new LocalTransport(), { destination: a.destination, stateDir: a.stateDir, leaves: "original", why: "destroy", hooks: a.hooks, name: "site" })
  : deployRelease(new LocalTransport(), { source: a.source, destination: a.destination, stateDir: a.stateDir, next: buildManifest(a.source, []), hooks: a.hooks, name: "site" }))
  .then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });
`;

describe("DeltaDeployment strategy \"releases\": a killed run is finished or undone by the next (real files, SIGKILL)", function () {
    let work: string;
    let dest: string;
    let root: string;
    let stateDir: string;
    const t = new LocalTransport();

    beforeEach(() => {
        work = tempDir("pd-it-relk-");
        dest = path.join(work, "srv", "site");
        root = path.join(work, "srv", ".site.releases");
        stateDir = path.join(work, "state");
    });
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    function source(name: string, spec: TreeSpec): string {
        const dir = path.join(work, `src-${name}`);
        resetTree(dir, spec);
        return dir;
    }

    function spawnDeploy(src: string, hooks: Record<string, string> = {}, destroy = false): ChildProcess {
        return spawn(process.execPath, ["-e", CHILD, JSON.stringify({ source: src, destination: dest, stateDir, hooks, destroy })], { stdio: ["ignore", "ignore", "pipe"] });
    }

    async function killWhen(child: ChildProcess, ready: () => boolean, what: string): Promise<void> {
        const exited = new Promise((r) => child.once("exit", r));
        for (const deadline = Date.now() + 60000; !ready(); ) {
            assert.ok(child.exitCode === null, `the run ended (code ${child.exitCode}) before ${what}`);
            assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
            await new Promise((r) => setTimeout(r, 2));
        }
        child.kill("SIGKILL");
        await exited;
    }

    const releases = () => (fs.existsSync(root) ? fs.readdirSync(root).filter((n) => n !== "original").sort() : []);

    it("killed during destroy, after the original went back, while onChange runs: the next run points destination at the live release again, and a destroy then completes", async () => {
        resetTree(dest, { "own.txt": "the host's own\n" });
        const ino = fs.statSync(path.join(dest, "own.txt")).ino;
        const v1 = source("v1", tree("v1", 50));
        const first = await deployRelease(t, { source: v1, destination: dest, stateDir, next: buildManifest(v1, []), name: "site" });
        const marker = path.join(work, "marker");
        const child = spawnDeploy(v1, { onChange: `touch ${marker}; sleep 60` }, true);
        await killWhen(child, () => fs.existsSync(marker), "onChange to start");
        assert.ok(fs.lstatSync(dest).isDirectory(), "the original was back when the run was killed");
        const lines: string[] = [];
        await deployRelease(t, { source: v1, destination: dest, stateDir, next: buildManifest(v1, []), name: "site", log: (l) => lines.push(l) });
        assert.ok(lines.some((l) => /undid an interrupted removal of the releases: destination points at release .* again/.test(l)), lines.join("\n"));
        assert.strictEqual(fs.readlinkSync(dest), path.join(root, first.release));
        assert.deepStrictEqual(filesOf(dest), filesOf(v1));
        await removeReleases(t, { destination: dest, stateDir, leaves: "original", why: "destroy", name: "site" });
        assert.deepStrictEqual(filesOf(dest), { "own.txt": filesOf(dest)["own.txt"] });
        assert.strictEqual(fs.readFileSync(path.join(dest, "own.txt"), "utf8"), "the host's own\n");
        assert.strictEqual(fs.statSync(path.join(dest, "own.txt")).ino, ino, "the very same file");
        assert.ok(!fs.existsSync(root));
    });

    for (const moment of ["while the release is built", "while validate runs", "after the flip, while onChange runs"] as const) {
        it(`killed ${moment}: the next run cleans up and destination never points at an unfinished release`, async () => {
            const v1 = source("v1", tree("v1", 50));
            const v2 = source("v2", tree("v2", 3000));
            const first = await deployRelease(t, { source: v1, destination: dest, stateDir, next: buildManifest(v1, []), name: "site" });
            const r1 = path.join(root, first.release);
            assert.strictEqual(fs.readlinkSync(dest), r1);

            const marker = path.join(work, "marker");
            const hooks: Record<string, string> = moment === "while validate runs" ? { validate: `touch ${marker}; sleep 60` } : moment === "after the flip, while onChange runs" ? { onChange: `touch ${marker}; sleep 60` } : {};
            const child = spawnDeploy(v2, hooks);
            let partial = "";
            if (moment === "while the release is built") {
                // Some files of the new release exist, not all of them.
                await killWhen(child, () => {
                    const other = releases().find((n) => n !== first.release);
                    if (!other) return false;
                    const d = path.join(root, other, "d3");
                    if (fs.existsSync(d) && fs.readdirSync(d).length > 0) {
                        partial = other;
                        return true;
                    }
                    return false;
                }, "the new release to be half built");
                const have = Object.keys(filesOf(path.join(root, partial))).length;
                assert.ok(have < 3001, `killed with ${have} of 3001 files in the new release`);
            } else {
                await killWhen(child, () => fs.existsSync(marker), "the hook to start");
                partial = releases().find((n) => n !== first.release)!;
                assert.deepStrictEqual(filesOf(path.join(root, partial)), filesOf(v2), "the release was complete when the run was killed");
            }
            assert.ok(fs.existsSync(path.join(stateDir)), "the killed run left its journal");
            const expectLink = moment === "after the flip, while onChange runs" ? path.join(root, partial) : r1;
            assert.strictEqual(fs.readlinkSync(dest), expectLink, "destination points at a complete release at the moment of the kill");

            // The next run (with nothing to deploy but v1 again) finds the journal: the unfinished run is undone.
            const lines: string[] = [];
            const again = await deployRelease(t, { source: v1, destination: dest, stateDir, next: buildManifest(v1, []), name: "site", log: (l) => lines.push(l) });
            assert.ok(lines.some((l) => /undid an interrupted run found in .*releases-journal\.json: destination points at release .* again, the unfinished release .* is removed/.test(l)), lines.join("\n"));
            assert.strictEqual(again.release, first.release);
            assert.strictEqual(fs.readlinkSync(dest), r1);
            assert.deepStrictEqual(releases(), [first.release], "the release the killed run made is gone");
            assert.deepStrictEqual(filesOf(dest), filesOf(v1));
            assert.ok(!fs.readdirSync(path.dirname(dest)).some((n) => n.startsWith(".pulumi-delta-link-")), "no temporary link is left");

            // And v2 deploys normally afterwards.
            await deployRelease(t, { source: v2, destination: dest, stateDir, next: buildManifest(v2, []), name: "site" });
            assert.deepStrictEqual(filesOf(dest), filesOf(v2));
        });
    }

    it("a run cut off while it wrote its state, journal or record leaves only a temporary file beside it (the file itself whole): the next run removes it, and destroy leaves no trace", async () => {
        const v1 = source("v1", tree("v1", 20));
        const v2 = source("v2", tree("v2", 20));
        await deployRelease(t, { source: v1, destination: dest, stateDir, next: buildManifest(v1, []), name: "site" });
        const folder = path.dirname(fs.readdirSync(stateDir, { recursive: true, encoding: "utf8" }).map((p) => path.join(stateDir, p)).find((p) => p.endsWith("releases.json"))!);
        // What a write cut short leaves with writeFileAtomically: half of the new content under a temporary name.
        fs.writeFileSync(path.join(folder, "releases.json.tmp-0badf00d"), '{"version":1,"destinat');
        fs.writeFileSync(path.join(folder, "releases-journal.json.tmp-deadbeef"), '{"vers');
        fs.mkdirSync(path.join(folder, "records"), { recursive: true });
        fs.writeFileSync(path.join(folder, "records", "20261203T000000000Z-abcdef.json.tmp-cafebabe"), '{"id":');
        const r = await deployRelease(t, { source: v2, destination: dest, stateDir, next: buildManifest(v2, []), name: "site" });
        assert.deepStrictEqual(filesOf(dest), filesOf(v2));
        assert.strictEqual(fs.readlinkSync(dest), path.join(root, r.release));
        assert.deepStrictEqual(fs.readdirSync(folder).filter((n) => n.includes(".tmp-")), [], "the temporary files are gone");
        assert.deepStrictEqual(fs.readdirSync(path.join(folder, "records")).filter((n) => n.includes(".tmp-")), [], "the record cut off mid-write is gone");
        await removeReleases(t, { destination: dest, stateDir, leaves: "original", why: "destroy", name: "site" });
        assert.ok(!fs.existsSync(dest) && !fs.existsSync(root));
        assert.ok(!fs.existsSync(folder) || fs.readdirSync(folder).every((n) => n === "records"), `left in ${folder}: ${fs.existsSync(folder) ? fs.readdirSync(folder).join(", ") : ""}`);
    });
});

describe("DeltaDeployment strategy \"releases\": the first release refuses a folder another deployment has files in (real files)", function () {
    it("names the other stack and resource, and moves nothing", async () => {
        const work = tempDir("pd-it-relo-");
        try {
            const t = new LocalTransport();
            const dest = path.join(work, "srv", "site");
            const stateDir = path.join(work, "state");
            const theirs = path.join(work, "theirs");
            resetTree(theirs, { "theirs.txt": "theirs\n" });
            await deploy(t, { source: theirs, destination: dest, stateDir, next: buildManifest(theirs, []), identity: { instance: "other1", project: "shop", stack: "prod", urn: "urn:pulumi:prod::shop::delta:index:DeltaDeployment::assets", name: "assets" } });
            const before = filesOf(dest);
            const mine = path.join(work, "mine");
            resetTree(mine, tree("v1", 5));
            await assert.rejects(
                deployRelease(t, { source: mine, destination: dest, stateDir, next: buildManifest(mine, []), identity: { instance: "me1", project: "site", stack: "prod", name: "site" } }),
                (err: Error) => {
                    assert.strictEqual(
                        err.message,
                        `refused before anything moved on local: strategy "releases" moves the folder at ${dest} aside as the original, but it holds 1 path (${dest}/theirs.txt) deployed by stack shop/prod, resource urn:pulumi:prod::shop::delta:index:DeltaDeployment::assets (instance other1). Destroy that deployment first, or keep strategy "inPlace"`,
                    );
                    return true;
                },
            );
            assert.ok(fs.lstatSync(dest).isDirectory(), "destination is still the folder");
            assert.deepStrictEqual(filesOf(dest), before);
            assert.ok(!fs.existsSync(path.join(work, "srv", ".site.releases")), "no releases folder was made");
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});

describe("DeltaDeployment strategy \"releases\": a first release that fails leaves the host as it found it (real files)", function () {
    for (const hook of ["validate", "onChange"] as const) {
        it(`${hook} fails on the first release: the original folder is back, no releases folder, no state`, async () => {
            const work = tempDir("pd-it-relf-");
            try {
                const t = new LocalTransport();
                const dest = path.join(work, "srv", "site");
                const stateDir = path.join(work, "state");
                resetTree(dest, { "own.txt": "the host's own\n" });
                const before = fs.statSync(path.join(dest, "own.txt")).ino;
                const src = path.join(work, "src");
                resetTree(src, tree("v1", 5));
                await assert.rejects(deployRelease(t, { source: src, destination: dest, stateDir, next: buildManifest(src, []), hooks: { [hook]: "exit 3" } }), new RegExp(`${hook} hook failed on local`));
                assert.ok(fs.lstatSync(dest).isDirectory(), "destination is the original folder again");
                assert.strictEqual(fs.statSync(path.join(dest, "own.txt")).ino, before, "the very same file");
                assert.deepStrictEqual(fs.readdirSync(path.join(work, "srv")), ["site"], "no releases folder, no temporary link");
                const folder = fs.readdirSync(stateDir)[0];
                assert.deepStrictEqual(fs.readdirSync(path.join(stateDir, folder)).filter((n) => n !== "records"), [], "no releases state, journal or lock");
            } finally {
                fs.rmSync(work, { recursive: true, force: true });
            }
        });
    }
});

describe("DeltaDeployment strategy \"releases\": releases belong to one resource (real files)", function () {
    it("another stack's releases deployment to the same destination is refused, naming the owner; its destroy touches nothing", async () => {
        const work = tempDir("pd-it-relw-");
        try {
            const t = new LocalTransport();
            const dest = path.join(work, "srv", "site");
            const stateDir = path.join(work, "state");
            const src = path.join(work, "src");
            resetTree(src, tree("v1", 5));
            const a = { instance: "a1", project: "site", stack: "prod", urn: "urn:pulumi:prod::site::delta:index:DeltaDeployment::site", name: "site" };
            const b = { instance: "b1", project: "site", stack: "staging", urn: "urn:pulumi:staging::site::delta:index:DeltaDeployment::site", name: "site" };
            const r = await deployRelease(t, { source: src, destination: dest, stateDir, next: buildManifest(src, []), identity: a });
            await assert.rejects(deployRelease(t, { source: src, destination: dest, stateDir, next: buildManifest(src, []), identity: b }), (err: Error) => {
                assert.strictEqual(err.message, `refused before anything moved on local: the releases of ${dest} (${path.join(work, "srv", ".site.releases")}) belong to stack site/prod, resource ${a.urn} (instance a1); destroy that deployment first, or deploy this one to another destination`);
                return true;
            });
            const lines: string[] = [];
            await removeReleases(t, { destination: dest, stateDir, leaves: "original", why: "destroy", identity: b, log: (l) => lines.push(l) });
            assert.ok(lines.some((l) => /belong to stack site\/prod.*nothing of this deployment's to remove/.test(l)), lines.join("\n"));
            assert.strictEqual(fs.readlinkSync(dest), r.folder, "the owner's release is still live");
            // A replacement of the same resource (new instance, same URN) takes them over.
            await deployRelease(t, { source: src, destination: dest, stateDir, next: buildManifest(src, []), identity: { ...a, instance: "a2" } });
            await removeReleases(t, { destination: dest, stateDir, leaves: "original", why: "destroy", identity: { ...a, instance: "a2" } });
            assert.ok(!fs.existsSync(dest), "nothing was there before the first release: nothing is left");
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
