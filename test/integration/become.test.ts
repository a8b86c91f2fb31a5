import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_ROOT_STATE_DIR, destinationKey } from "../../sdk/apply";
import { outputValues, StackOptions, TestBackend, testBackend, withStack } from "../helpers/pulumi";
import { authorizeKey, Sshd, startSshd } from "../helpers/sshd";
import { failure } from "../helpers/failure";

function uidOf(user: string): number {
    return Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
}

/** Upload folders the sudo transport leaves behind (it must leave none). */
function uploadLeftovers(): string[] {
    return fs.readdirSync("/var/tmp").filter((n) => n.startsWith("pulumi-delta-upload."));
}

// A login user that is not root, with passwordless sudo, deploys into a
// root-owned folder (standing in for /etc/nginx/conf.d). A second user
// without a sudoers entry shows what a refusal says.
describe('DeltaDeployment with become: "sudo" and owner (real engine, real sshd, real sudo, users created by the test)', function () {
    const suffix = crypto.randomBytes(3).toString("hex");
    const sudoer = `pdsudo${suffix}`;
    const plain = `pdplain${suffix}`;
    const sudoersFile = `/etc/sudoers.d/pulumi-delta-test-${suffix}`;
    let backend: TestBackend;
    let sshd: Sshd;
    let work: string;
    let confDir: string;
    let appConf: string;
    const ORIGINAL = "# the original app.conf\nserver { listen 8080; }\n";

    before(async function () {
        if (process.getuid?.() !== 0) throw new Error("this test creates users and a sudoers entry: run it as root");
        execFileSync("sh", ["-c", "command -v sudo"], { stdio: "ignore" });
        for (const u of [sudoer, plain]) execFileSync("useradd", ["--create-home", "--shell", "/bin/sh", "--password", "*", u]);
        // visudo -c guards the host's sudo from a broken file.
        fs.writeFileSync(`${sudoersFile}.tmp`, `${sudoer} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
        execFileSync("visudo", ["-cqf", `${sudoersFile}.tmp`]);
        fs.renameSync(`${sudoersFile}.tmp`, sudoersFile);
        backend = testBackend();
        sshd = await startSshd({ user: sudoer });
        for (const u of [sudoer, plain]) authorizeKey(sshd, u);
    });
    after(async () => {
        fs.rmSync(sudoersFile, { force: true });
        fs.rmSync(`${sudoersFile}.tmp`, { force: true });
        for (const u of [sudoer, plain]) {
            try {
                execFileSync("userdel", ["--remove", u], { stdio: "ignore" });
            } catch {
                // Not created (before failed early).
            }
        }
        await sshd?.stop();
        backend?.dispose();
    });
    beforeEach(() => {
        work = fs.mkdtempSync("/tmp/pd-it-become-");
        // Root's, 0755, like /etc/nginx/conf.d: the login user may read it but not write it.
        confDir = path.join(work, "conf.d");
        fs.mkdirSync(confDir, { mode: 0o755 });
        fs.chmodSync(work, 0o755);
        appConf = path.join(confDir, "app.conf");
        fs.writeFileSync(appConf, ORIGINAL, { mode: 0o644 });
        fs.mkdirSync(path.join(work, "src"));
    });
    afterEach(() => {
        fs.rmSync(path.join(DEFAULT_ROOT_STATE_DIR, destinationKey(appConf)), { recursive: true, force: true });
        fs.rmSync(work, { recursive: true, force: true });
    });

    function options(user: string, extra: Record<string, string | undefined>): StackOptions {
        return {
            fixture: "reach",
            config: { host: sshd.host, port: sshd.port, user, hostKey: sshd.hostKey, source: path.join(work, "src", "app.conf"), destination: appConf, become: "sudo", ...extra },
            secrets: { privateKey: sshd.privateKey },
        };
    }

    it("deploys app.conf into a root-owned folder as a sudoer, owned by root from the start; a new owner re-owns it; destroy restores the original byte for byte", async () => {
        const v1 = "# deployed by pulumi-delta\nserver { listen 8081; }\n";
        fs.writeFileSync(path.join(work, "src", "app.conf"), v1, { mode: 0o644 });
        // The staged file must already be root's, and hooks run as root.
        const validate = 'test "$(id -u)" = 0 && test "$(stat -c %u:%g {staged})" = 0:0';
        const folder = path.join(DEFAULT_ROOT_STATE_DIR, destinationKey(appConf));
        await withStack(backend, options(sudoer, { owner: "root", validate }), async (stack) => {
            const up1 = await stack.up();
            assert.deepStrictEqual(outputValues(up1.outputs).lastDelta, { added: 1, changed: 0, removed: 0, bytesSent: Buffer.byteLength(v1) });
            assert.strictEqual(fs.readFileSync(appConf, "utf8"), v1);
            const st = fs.statSync(appConf);
            assert.deepStrictEqual({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }, { uid: 0, gid: 0, mode: 0o644 });
            // The state root defaults to root's, made by sudo: the original is kept there, out of the login user's reach.
            const originals = fs.statSync(path.join(folder, "originals", "file"));
            assert.strictEqual(fs.readFileSync(path.join(folder, "originals", "file"), "utf8"), ORIGINAL);
            assert.strictEqual(originals.uid, 0);
            assert.deepStrictEqual([fs.statSync(DEFAULT_ROOT_STATE_DIR).uid, fs.statSync(folder).mode & 0o777], [0, 0o700]);
            assert.deepStrictEqual(uploadLeftovers(), [], "the login user's upload folder is gone");

            // Only the owner changes: no bytes move, the file is re-owned.
            await stack.setConfig("owner", { value: sudoer });
            await stack.setConfig("validate", { value: "true" });
            const up2 = await stack.up();
            assert.deepStrictEqual(outputValues(up2.outputs).lastDelta, { added: 0, changed: 0, removed: 0, bytesSent: 0 });
            assert.strictEqual(fs.statSync(appConf).uid, uidOf(sudoer));

            await stack.destroy();
            assert.strictEqual(fs.readFileSync(appConf, "utf8"), ORIGINAL, "the original app.conf is back byte for byte");
            const back = fs.statSync(appConf);
            assert.deepStrictEqual({ uid: back.uid, gid: back.gid, mode: back.mode & 0o7777 }, { uid: 0, gid: 0, mode: 0o644 });
            assert.deepStrictEqual(fs.readdirSync(folder), ["records"], "only the records survive destroy");
            assert.deepStrictEqual(uploadLeftovers(), []);
        });
    });

    it("names a missing user before anything moves", async () => {
        fs.writeFileSync(path.join(work, "src", "app.conf"), "x\n");
        const inode = fs.statSync(appConf).ino;
        await withStack(backend, options(sudoer, { owner: "pd-no-such-user" }), async (stack) => {
            const msg = await failure(stack.up());
            assert.match(msg, new RegExp(`failed to set the owner of \\S+ on ${sudoer}@127\\.0\\.0\\.1:${sshd.port}: no such user "pd-no-such-user" on the host`));
            assert.strictEqual(fs.readFileSync(appConf, "utf8"), ORIGINAL);
            assert.strictEqual(fs.statSync(appConf).ino, inode, "the original was never moved");
        });
    });

    it("says sudo refused when the login user has no sudoers entry, and touches nothing", async () => {
        fs.writeFileSync(path.join(work, "src", "app.conf"), "x\n");
        await withStack(backend, options(plain, { owner: "root" }), async (stack) => {
            const msg = await failure(stack.up());
            assert.match(
                msg,
                new RegExp(
                    `failed to become root with sudo on ${plain}@127\\.0\\.0\\.1:${sshd.port}: user ${plain} cannot run sudo without a password on ${plain}@127\\.0\\.0\\.1:${sshd.port}; ` +
                        `add a NOPASSWD sudoers entry .* or connect as root \\(become: "sudo"\\)`,
                ),
            );
            assert.strictEqual(fs.readFileSync(appConf, "utf8"), ORIGINAL);
            assert.ok(!fs.existsSync(path.join(DEFAULT_ROOT_STATE_DIR, destinationKey(appConf))), "no state was written");
        });
    });
});
