import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { deploy, dropLargeFileIndex, layoutFor } from "../../sdk/apply";
import { hostChunkListPath, stampPath } from "../../sdk/apply/layout";
import { decodeStamp } from "../../sdk/apply/stamp";
import { buildManifest, decodeChunks, Manifest } from "../../sdk/manifest";
import { LocalTransport } from "../../sdk/transport";
import { tempDir } from "../helpers/tree";

const MiB = 1024 * 1024;
const SIZE = 12 * MiB;

function sha(file: string): string {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function overwrite(file: string, at: number, seed: number): void {
    const fd = fs.openSync(file, "r+");
    fs.writeSync(fd, Buffer.alloc(256 * 1024, seed), 0, 256 * 1024, at);
    fs.closeSync(fd);
}

/**
 * The host-side chunk lists and stamps through the apply engine over the
 * local transport (fast, no engine): what each deployment keeps, what a
 * runner with an empty cache reads back, and what goes when nothing holds it.
 */
describe("chunk lists and stamps of large files under the host's stateDir", function () {
    let work: string;
    let src: string;
    let dest: string;
    let stateDir: string;
    let savedCache: string | undefined;
    const t = new LocalTransport();
    const logs: string[] = [];

    beforeEach(() => {
        work = tempDir("pd-chunkindex-");
        src = path.join(work, "src");
        dest = path.join(work, "host", "site");
        stateDir = path.join(work, "state");
        fs.mkdirSync(src);
        const data = crypto.randomBytes(SIZE);
        fs.writeFileSync(path.join(src, "a.bin"), data);
        fs.writeFileSync(path.join(src, "b.bin"), data);
        fs.writeFileSync(path.join(src, "small.txt"), "hello\n");
        savedCache = process.env.PULUMI_DELTA_CACHE_DIR;
        logs.length = 0;
    });
    afterEach(() => {
        if (savedCache === undefined) delete process.env.PULUMI_DELTA_CACHE_DIR;
        else process.env.PULUMI_DELTA_CACHE_DIR = savedCache;
        fs.rmSync(work, { recursive: true, force: true });
    });

    /** A fresh, empty cache on this machine for the next step, as on another runner. */
    function freshCache(step: string): void {
        process.env.PULUMI_DELTA_CACHE_DIR = path.join(work, `cache-${step}`);
    }

    async function step(previous: Manifest | undefined): Promise<{ next: Manifest; bytesSent: number }> {
        const next = buildManifest(src);
        const r = await deploy(t, { source: src, destination: dest, stateDir, previous, next, log: (l) => logs.push(l) });
        return { next, bytesSent: r.bytesSent };
    }

    const layout = () => layoutFor(stateDir, dest);
    const listed = () => (fs.existsSync(layout().chunks) ? fs.readdirSync(layout().chunks).sort() : []);

    it("keeps one list per version and one stamp per large path, patches from them with an empty cache, and drops what nothing holds", async () => {
        freshCache("1");
        const v1 = sha(path.join(src, "a.bin"));
        const first = await step(undefined);
        const a = path.join(dest, "a.bin");
        const b = path.join(dest, "b.bin");
        // a and b share one version: one list; two stamps; nothing for the small file.
        assert.deepStrictEqual(listed(), [path.basename(stampPath(layout(), a)), path.basename(stampPath(layout(), b)), `${v1}.pdc1`].sort());
        const list = decodeChunks(fs.readFileSync(hostChunkListPath(layout(), v1)));
        assert.strictEqual(list[list.length - 1].offset + list[list.length - 1].length, SIZE);
        const st = fs.statSync(a);
        assert.deepStrictEqual(decodeStamp(fs.readFileSync(stampPath(layout(), a), "utf8")), { target: a, sha256: v1, size: SIZE, mtime: Math.floor(st.mtimeMs / 1000) });
        assert.strictEqual(fs.statSync(layout().chunks).mode & 0o777, 0o700);

        // Another runner: nothing cached here, so the old list comes from the host.
        freshCache("2");
        overwrite(path.join(src, "a.bin"), SIZE / 2, 1);
        const v2 = sha(path.join(src, "a.bin"));
        const second = await step(first.next);
        assert.ok(second.bytesSent < SIZE / 10, `sent ${second.bytesSent}: ${logs.join("\n")}`);
        assert.strictEqual(sha(a), v2);
        // b still holds v1, so its list stays.
        assert.deepStrictEqual(listed(), [path.basename(stampPath(layout(), a)), path.basename(stampPath(layout(), b)), `${v1}.pdc1`, `${v2}.pdc1`].sort());
        assert.strictEqual(decodeStamp(fs.readFileSync(stampPath(layout(), a), "utf8")).sha256, v2);

        // b goes and a changes again: v1 and v2 are held by nothing.
        freshCache("3");
        fs.rmSync(path.join(src, "b.bin"));
        overwrite(path.join(src, "a.bin"), 1 * MiB, 2);
        const v3 = sha(path.join(src, "a.bin"));
        const third = await step(second.next);
        assert.ok(third.bytesSent < SIZE / 10, `sent ${third.bytesSent}: ${logs.join("\n")}`);
        assert.deepStrictEqual(listed(), [path.basename(stampPath(layout(), a)), `${v3}.pdc1`].sort());

        // a shrinks below the chunking threshold: nothing left to patch from.
        fs.truncateSync(path.join(src, "a.bin"), MiB);
        await step(third.next);
        assert.deepStrictEqual(listed(), []);

        await dropLargeFileIndex(t, layout());
        assert.ok(!fs.existsSync(layout().chunks));
    });

    it("sends a large file whole when the host's copy kept its size but its mtime moved, and says why", async () => {
        freshCache("1");
        const first = await step(undefined);
        const a = path.join(dest, "a.bin");
        const mtime = fs.statSync(a).mtime;
        fs.utimesSync(a, mtime, new Date(mtime.getTime() - 3600 * 1000));
        overwrite(path.join(src, "a.bin"), SIZE / 2, 3);
        const second = await step(first.next);
        assert.ok(second.bytesSent >= SIZE, `sent ${second.bytesSent}`);
        assert.strictEqual(sha(a), sha(path.join(src, "a.bin")));
        assert.ok(
            logs.some((l) => l.startsWith(`${a}: sent whole (${a} was modified on the host after the last deployment (size ${SIZE}, mtime `)),
            logs.join("\n"),
        );
        // The new stamp describes the new file, so the next edit patches again.
        overwrite(path.join(src, "a.bin"), SIZE / 4, 4);
        const third = await step(second.next);
        assert.ok(third.bytesSent < SIZE / 10, `sent ${third.bytesSent}: ${logs.join("\n")}`);
    });

    it("sends whole, saying so, when neither this machine nor the host has the deployed version's list", async () => {
        freshCache("1");
        const first = await step(undefined);
        fs.rmSync(layout().chunks, { recursive: true });
        freshCache("2");
        overwrite(path.join(src, "a.bin"), SIZE / 2, 5);
        const second = await step(first.next);
        assert.ok(second.bytesSent >= SIZE);
        assert.strictEqual(sha(path.join(dest, "a.bin")), sha(path.join(src, "a.bin")));
        assert.ok(logs.some((l) => l === `${path.join(dest, "a.bin")}: sent whole (no chunk list of the deployed version on this machine or on local)`), logs.join("\n"));
    });
});
