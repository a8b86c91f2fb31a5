import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { connectSsh, SshTransport, TransportError } from "../../sdk/transport";
import { Sshd, startSshd } from "../helpers/sshd";
import { tempDir } from "../helpers/tree";

/** The hashing shell a patch opens ahead of its final check, against a real sshd. */
describe("SshTransport.sha256 through a prepared hashing shell (real sshd)", function () {
    let sshd: Sshd;
    let dir: string;
    before(async () => {
        sshd = await startSshd();
        dir = tempDir("pd-hasher-");
    });
    after(async () => {
        await sshd.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("answers many concurrent requests in order, matching local hashes, and reports a missing file", async () => {
        const files = Array.from({ length: 12 }, (_, i) => {
            const f = path.join(dir, `f ${i} 'quoted'`);
            fs.writeFileSync(f, crypto.randomBytes(1000 + i * 7919));
            return f;
        });
        const t = (await connectSsh(sshd.connection())) as SshTransport;
        try {
            t.prepareSha256();
            // Sent before the shell is ready: they wait, then go in order.
            const got = await Promise.all(files.map((f) => t.sha256(f)));
            assert.deepStrictEqual(got, files.map((f) => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex")));
            await assert.rejects(t.sha256(path.join(dir, "missing")), (err: Error) => err instanceof TransportError && /failed to hash .*missing.*No such file/.test(err.message));
            // The shell survives a failed request.
            assert.strictEqual(await t.sha256(files[0]), got[0]);
            // A line break cannot travel on the shell's line protocol: that path takes its own exec.
            const odd = path.join(dir, "line\nbreak");
            fs.writeFileSync(odd, "x");
            assert.strictEqual(await t.sha256(odd), crypto.createHash("sha256").update("x").digest("hex"));
        } finally {
            await t.close();
        }
    });

    it("sha256Many: one exec hashes many files (odd names too); a missing file or a name with a line break is left out, for sha256 to answer", async () => {
        const names = ["plain.txt", "sp ace", "quo'te", "back\\slash", "dollar$HOME", "-dash"];
        const files = names.map((n, i) => {
            const f = path.join(dir, "many", n);
            fs.mkdirSync(path.dirname(f), { recursive: true });
            fs.writeFileSync(f, crypto.randomBytes(100 + i * 13));
            return f;
        });
        const odd = path.join(dir, "many", "line\nbreak");
        fs.writeFileSync(odd, "x");
        const missing = path.join(dir, "many", "missing");
        const t = (await connectSsh(sshd.connection())) as SshTransport;
        try {
            const got = await t.sha256Many([...files, missing, odd]);
            assert.deepStrictEqual(
                [...got].sort(),
                files.map((f) => [f, crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex")]).sort(),
            );
        } finally {
            await t.close();
        }
    });
});
