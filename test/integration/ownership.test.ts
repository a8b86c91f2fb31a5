import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { outputValues, StackOptions, TestBackend, testBackend, withStack } from "../helpers/pulumi";
import { Sshd, startSshd } from "../helpers/sshd";
import { tempDir, writeTree } from "../helpers/tree";

const FILES = 150;

/** Debian's unprivileged account and group: present on every host the tests run on. */
const OWNER = "nobody";
const GROUP = "nogroup";

function idsOf(root: string): Set<string> {
    const seen = new Set<string>();
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else {
                const st = fs.lstatSync(p);
                seen.add(`${st.uid}:${st.gid}`);
            }
        }
    };
    walk(root);
    return seen;
}

function idOf(kind: "u" | "g", name: string): number {
    const line = fs.readFileSync(kind === "u" ? "/etc/passwd" : "/etc/group", "utf8").split("\n").find((l) => l.startsWith(`${name}:`));
    if (!line) throw new Error(`no ${name} in ${kind === "u" ? "/etc/passwd" : "/etc/group"}`);
    return Number(line.split(":")[2]);
}

// owner/group on a tree of many files, as root (no sudo): names resolve on the
// host once and every file is chowned by number, so a tree of any size costs
// no shell per file (and never runs into the server's session limit).
for (const over of ["ssh", "local"] as const) {
    describe(`DeltaDeployment owner and group on a ${FILES}-file tree (real engine, ${over === "ssh" ? "real sshd" : "local target"})`, function () {
        let backend: TestBackend;
        let sshd: Sshd | undefined;
        let work: string;
        before(async () => {
            backend = testBackend();
            if (over === "ssh") sshd = await startSshd();
        });
        after(async () => {
            await sshd?.stop();
            backend.dispose();
        });
        beforeEach(() => {
            work = tempDir("pd-it-owner-");
        });
        afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

        function options(extra: Record<string, string | undefined>): StackOptions {
            const conn = sshd ? { host: sshd.host, port: sshd.port, hostKey: sshd.hostKey } : {};
            return {
                fixture: "reach",
                config: { ...conn, source: path.join(work, "src"), destination: path.join(work, "dest"), stateDir: path.join(work, "state"), ...extra },
                secrets: sshd ? { privateKey: sshd.privateKey } : {},
            };
        }

        it("owns every deployed file from the first deployment; a changed group re-owns them all without resending", async () => {
            const spec: Record<string, string> = {};
            for (let i = 0; i < FILES; i++) spec[`d${i % 5}/f${i}.txt`] = `file ${i}\n`;
            writeTree(path.join(work, "src"), spec);
            const [uid, gid] = [idOf("u", OWNER), idOf("g", GROUP)];
            await withStack(backend, options({ owner: OWNER, group: GROUP }), async (stack) => {
                const up = await stack.up();
                assert.strictEqual((outputValues(up.outputs).lastDelta as { added: number }).added, FILES);
                assert.deepStrictEqual([...idsOf(path.join(work, "dest"))], [`${uid}:${gid}`]);
                await stack.setConfig("group", { value: "root" });
                const again = await stack.up();
                assert.strictEqual((outputValues(again.outputs).lastDelta as { bytesSent: number }).bytesSent, 0);
                assert.deepStrictEqual([...idsOf(path.join(work, "dest"))], [`${uid}:0`]);
                await stack.setConfig("group", { value: "pd-no-such-group" });
                await assert.rejects(stack.up(), /no such group "pd-no-such-group" on the host/);
            });
        });
    });
}
