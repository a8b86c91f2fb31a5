import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { runDeploymentScenario } from "../helpers/deploymentScenario";
import { REPO, testBackend, TestBackend } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { tempDir } from "../helpers/tree";

/** The program's builds (ours in `before` and the language host's on each run) share these settings, so the host's are cache hits. */
const GO_ENV = { GOTOOLCHAIN: "local", CGO_ENABLED: "0" };

function hasGo(): boolean {
    try {
        execFileSync("go", ["version"], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

describe("a Go program driving the plugin (generated Go SDK, Pulumi Go SDK v3.259.0, real engine, real sshd)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let work: string;
    let program: string;

    before(async function () {
        if (!hasGo()) this.skip(); // No Go: the toolchain came from PATH and no Go program can run here.
        // A cold build of the Pulumi Go SDK takes minutes on 2 cores; GOMODCACHE and GOCACHE keep it for later runs.
        this.timeout(30 * 60 * 1000);
        backend = testBackend();
        sshd = await startSshd();
        work = tempDir("pd-go-it-");
        program = path.join(work, "program");
        fs.cpSync(path.join(REPO, "test", "fixtures", "go-deployment"), program, { recursive: true });
        // The fixture's replace is relative to the repo; the copy points at this checkout's generated SDK.
        execFileSync("go", ["mod", "edit", `-replace=github.com/pulumi-delta/pulumi-delta/sdk=${path.join(REPO, "sdk")}`], { cwd: program, env: { ...process.env, ...GO_ENV } });
        // The language host compiles the program on every run; building it once here leaves those runs cache hits.
        execFileSync("go", ["build", "-o", path.join(work, "program.bin"), "."], { cwd: program, env: { ...process.env, ...GO_ENV }, stdio: "inherit" });
        fs.mkdirSync(path.join(work, "scenario"));
    });
    after(async () => {
        await sshd?.stop();
        backend?.dispose();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("deploys over ssh, previews and applies a 3-file delta, repairs drift found by refresh, and destroy restores the host", async () => {
        await runDeploymentScenario({ backend, sshd, work: path.join(work, "scenario"), workDir: program, env: GO_ENV });
    });
});
