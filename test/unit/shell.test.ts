import * as assert from "assert";
import { parseSha256Lines } from "../../sdk/transport/shell";

const A = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
const B = "a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa";

describe("parseSha256Lines: the output of one batched host hash", () => {
    it("reads openssl dgst -r lines, names as printed (spaces, backslashes), skipping anything else", () => {
        // As `xargs -0 openssl dgst -sha256 -r` printed them here, after a login shell's own greeting.
        const out = `Welcome to the host\n${A} */tmp/h/we\\ird\n${B} */tmp/h/sp ace\nnot a hash line\n`;
        assert.deepStrictEqual([...parseSha256Lines(out)], [
            ["/tmp/h/we\\ird", A],
            ["/tmp/h/sp ace", B],
        ]);
    });

    it("undoes sha256sum's escapes, which it marks with a leading backslash", () => {
        const out = `\\${A} */tmp/h/we\\\\ird\n\\${B} */tmp/h/line\\nbreak\n`;
        assert.deepStrictEqual([...parseSha256Lines(out)], [
            ["/tmp/h/we\\ird", A],
            ["/tmp/h/line\nbreak", B],
        ]);
    });

    it("gives nothing for nothing", () => {
        assert.deepStrictEqual([...parseSha256Lines("")], []);
    });
});
