import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { partOf, settle } from "../../sdk/plugin/components/inputs";

/** The SDK's nested secret, as its deserializeProperties leaves it inside a plain value. */
const wrapped = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });
const internals = (o: pulumi.Output<unknown>) => o as unknown as { promise(): Promise<unknown>; isSecret: Promise<boolean> };

describe("plugin/components/inputs: Construct inputs as plain data", () => {
    it("a plain value passes as it is; a nested secret is unwrapped and marks the whole secret", async () => {
        assert.deepStrictEqual(await settle(["a", { b: 1 }]), { value: ["a", { b: 1 }], secret: false });
        assert.deepStrictEqual(await settle([{ name: "ams", connection: { host: "h", privateKey: wrapped("KEY") } }]), {
            value: [{ name: "ams", connection: { host: "h", privateKey: "KEY" } }],
            secret: true,
        });
    });
    it("an Output (secret, or with dependencies) is settled to its value", async () => {
        assert.deepStrictEqual(await settle(pulumi.secret([{ name: "ams" }])), { value: [{ name: "ams" }], secret: true });
        assert.deepStrictEqual(await settle(pulumi.output("./deltas")), { value: "./deltas", secret: false });
        assert.deepStrictEqual(await settle(undefined), { value: undefined, secret: false });
    });
    it("a part handed to a child keeps the secrecy of the whole", async () => {
        const part = partOf(pulumi.secret([{ name: "ams" }]), { host: "h" }, true);
        assert.deepStrictEqual(await internals(part).promise(), { host: "h" });
        assert.strictEqual(await internals(part).isSecret, true);
        assert.strictEqual(await internals(partOf(["x"], "y", false)).isSecret, false);
    });
});
