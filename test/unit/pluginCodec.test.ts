import * as assert from "assert";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { containsUnknown, decode, encode, SECRET_SIG, SIG_KEY, UNKNOWN, withSecrets } from "../../sdk/plugin/server/codec";

const secret = (value: unknown) => ({ [SIG_KEY]: SECRET_SIG, value });

describe("plugin codec", () => {
    it("unwraps secrets at any depth and remembers their paths", () => {
        const s = Struct.fromJavaScript({ connection: { host: "h", privateKey: secret("KEY"), proxy: { password: secret("pw") } }, hosts: [{ connection: secret({ host: "a" }) }] } as never);
        const d = decode(s);
        assert.deepStrictEqual(d.value, { connection: { host: "h", privateKey: "KEY", proxy: { password: "pw" } }, hosts: [{ connection: { host: "a" } }] });
        assert.deepStrictEqual([...d.secrets].sort(), ["connection.privateKey", "connection.proxy.password", "hosts[0].connection"]);
    });

    it("wraps the named paths again, skipping absent ones, without touching the input", () => {
        const value = { connection: { host: "h", privateKey: "KEY" }, source: "./site" };
        const out = withSecrets(value, ["connection.privateKey", "connection.password", "connection.proxy.privateKey", "nothing.here"]);
        assert.deepStrictEqual(out, { connection: { host: "h", privateKey: secret("KEY") }, source: "./site" });
        assert.deepStrictEqual(value.connection.privateKey, "KEY");
        assert.deepStrictEqual(encode(Struct, out).toJavaScript(), out);
    });

    it("keeps unknowns as the engine's sentinel and finds them inside values", () => {
        const d = decode(Struct.fromJavaScript({ source: UNKNOWN, exclude: ["a", UNKNOWN] } as never));
        assert.strictEqual(d.value.source, UNKNOWN);
        assert.strictEqual(containsUnknown(d.value.exclude), true);
        assert.strictEqual(containsUnknown(["a", { b: "c" }]), false);
    });

    it("refuses assets and resource references with the kind named", () => {
        const s = Struct.fromJavaScript({ a: { [SIG_KEY]: "c44067f5952c0a294b673a41bacd8c17", path: "x" } } as never);
        assert.throws(() => decode(s), /unsupported property value kind c44067f5952c0a294b673a41bacd8c17 at a/);
    });

    it("drops undefined members when encoding", () => {
        assert.deepStrictEqual(encode(Struct, { a: undefined, b: 1 }).toJavaScript(), { b: 1 });
    });
});
