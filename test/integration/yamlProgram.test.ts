import * as fs from "fs";
import * as path from "path";
import { runDeploymentScenario } from "../helpers/deploymentScenario";
import { REPO, testBackend, TestBackend } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { tempDir } from "../helpers/tree";

describe("a YAML program driving the plugin (pulumi-yaml, real engine, real sshd)", function () {
    let backend: TestBackend;
    let sshd: Sshd;
    let work: string;
    let program: string;

    before(async () => {
        backend = testBackend();
        sshd = await startSshd();
        work = tempDir("pd-yaml-it-");
        program = path.join(work, "program");
        fs.cpSync(path.join(REPO, "test", "fixtures", "yaml-deployment"), program, { recursive: true });
        fs.mkdirSync(path.join(work, "scenario"));
    });
    after(async () => {
        await sshd?.stop();
        backend?.dispose();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("deploys over ssh, previews and applies a 3-file delta, repairs drift found by refresh, and destroy restores the host", async () => {
        await runDeploymentScenario({ backend, sshd, work: path.join(work, "scenario"), workDir: program });
    });
});
