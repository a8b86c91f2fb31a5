import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { newStack, outputValues, REPO, testBackend } from "../helpers/pulumi";
import { startNginx } from "../helpers/nginx";
import { tempDir } from "../helpers/tree";

/** examples/nginx-config as a user runs it (local target), against a real nginx. */
describe("examples/nginx-config (real engine, real nginx, local target)", function () {
    it("deploys app.conf, nginx -t passes, onChange reloads nginx, and destroy restores the original", async () => {
        const work = tempDir("pd-example-nginx-");
        const backend = testBackend();
        const nginx = await startNginx("original\n");
        try {
            const original = fs.readFileSync(nginx.appConf);
            // The example's app.conf, listening on this nginx's port instead of 80.
            const source = path.join(work, "app.conf");
            fs.writeFileSync(source, fs.readFileSync(path.join(REPO, "examples", "nginx-config", "app.conf"), "utf8").replace("listen 80;", `listen 127.0.0.1:${nginx.port};`));
            const stack = await newStack(backend, {
                fixture: path.join(REPO, "examples", "nginx-config"),
                config: { source, destination: nginx.appConf, stateDir: path.join(work, "state"), validate: nginx.testCommand, onChange: nginx.reloadCommand },
            });
            const up = await stack.up();
            assert.strictEqual(await nginx.get("hello from app.conf\n"), "hello from app.conf\n");
            const out = outputValues(up.outputs);
            assert.deepStrictEqual(out.lastDelta, { added: 1, changed: 0, removed: 0, bytesSent: fs.statSync(source).size });
            assert.strictEqual((out.lastRecord as { resource: string }).resource, "app-conf");
            await stack.destroy();
            assert.deepStrictEqual(fs.readFileSync(nginx.appConf), original);
            assert.strictEqual(await nginx.get("original\n"), "original\n");
            await stack.workspace.removeStack(stack.name);
        } finally {
            await nginx.stop();
            backend.dispose();
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
