import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { plainHosts, withPlain } from "../../sdk/plugin/components/plainInputs";

/** An Output as Construct's deserializeInputs makes one for a secret input: the value inside, marked secret. */
function secretInput<T>(value: T): pulumi.Output<unknown> {
    return pulumi.secret(value) as pulumi.Output<unknown>;
}

async function resolved<T>(o: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
    const internal = o as unknown as { promise(): Promise<T>; isSecret: Promise<boolean> };
    return { value: await internal.promise(), secret: await internal.isSecret };
}

describe("plugin components: inputs that lay out children arrive plain (YAML sends a list with a secret in it as one secret)", () => {
    const hosts = [
        { name: "alpha", connection: { host: "10.0.0.1", privateKey: "KEY-A" } },
        { name: "beta", connection: { host: "10.0.0.2", privateKey: "KEY-B" } },
    ];

    it("a secret hosts list: plain names, each connection still a secret Output of its own host", async () => {
        const out = (await plainHosts("fleet", secretInput(hosts))) as { name: string; connection: pulumi.Output<unknown> }[];
        assert.deepStrictEqual(out.map((h) => h.name), ["alpha", "beta"]);
        assert.ok(out.every((h) => pulumi.Output.isInstance(h.connection)));
        assert.deepStrictEqual(await resolved(out[0].connection), { value: hosts[0].connection, secret: true });
        assert.deepStrictEqual(await resolved(out[1].connection), { value: hosts[1].connection, secret: true });
    });

    it("a plain hosts list (a Node program's, secrets nested) is passed on as it is", async () => {
        assert.strictEqual(await plainHosts("fleet", hosts), hosts);
    });

    it("other layout inputs: Outputs become their values, the rest is untouched", async () => {
        const client = secretInput({ password: "pw" });
        const out = await withPlain("SqlDeltas", "db", { tenants: secretInput(["acme", "globex"]), deltas: "./deltas", client }, ["tenants", "deltas", "engine"]);
        assert.deepStrictEqual(out.tenants, ["acme", "globex"]);
        assert.strictEqual(out.deltas, "./deltas");
        assert.strictEqual(out.client, client, "not a layout input: stays a secret Output");
        assert.ok(!("engine" in out), "absent stays absent");
    });

    it("a layout input not known yet in a preview: an error naming the component, the input and the fix", async () => {
        // As deserializeInputs wraps an unknown input that depends on a resource; without dependencies it arrives as pulumi.unknown itself.
        const OutputClass = pulumi.Output as unknown as new (...a: unknown[]) => pulumi.Output<unknown>;
        const unknownOutput = new OutputClass([], Promise.resolve(pulumi.unknown), Promise.resolve(true), Promise.resolve(false), Promise.resolve([]));
        await assert.rejects(withPlain("SqlDeltas", "db", { tenants: unknownOutput }, ["tenants"]), {
            message: "SqlDeltas db: tenants must be known when the program runs (it lays out the children), but it is not known yet in this preview; make it a value the program knows, not an output of a resource still to be created",
        });
        await assert.rejects(plainHosts("fleet", pulumi.unknown), /^Error: DeltaFleet fleet: hosts must be known when the program runs/);
    });
});
