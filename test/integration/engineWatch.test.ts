import * as assert from "assert";
import { spawn } from "child_process";
import * as path from "path";

const WATCH = path.resolve(__dirname, "..", "..", "sdk", "providers", "engineWatch.js");

/** A process that behaves as a provider mid-deployment: it watches its engine and writes progress without end. */
const PROVIDER = `require(${JSON.stringify(WATCH)}).watchEngine(); setInterval(() => console.log("site: 812/20004 files, 310.4/1240.0 MB sent"), 1); setInterval(() => {}, 1e6);`;

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

async function until(what: () => boolean, ms: number): Promise<number> {
    const start = Date.now();
    while (!what()) {
        if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 20));
    }
    return Date.now() - start;
}

describe("the provider process ends when its engine goes away", function () {
    it("exits when the engine that started it is killed (kill -9), instead of running on and holding the host", async () => {
        // sh stands in for the engine: it starts the provider, prints its pid, and is then killed.
        const engine = spawn("sh", ["-c", `node -e '${PROVIDER}' >/dev/null & echo $!; wait`], { stdio: ["ignore", "pipe", "inherit"] });
        const pid = await new Promise<number>((resolve) => engine.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
        await new Promise((r) => setTimeout(r, 500));
        assert.ok(alive(pid));
        engine.kill("SIGKILL");
        const took = await until(() => !alive(pid), 3000);
        assert.ok(took < 3000);
    });

    it("exits when its output pipe closes, instead of spinning on the failed writes", async () => {
        const child = spawn(process.execPath, ["-e", PROVIDER], { stdio: ["ignore", "pipe", "ignore"] });
        await new Promise((r) => child.stdout!.once("data", r));
        const started = Date.now();
        child.stdout!.destroy();
        const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
        assert.strictEqual(code, 1);
        assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    });
});
