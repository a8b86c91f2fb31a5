import * as assert from "assert";
import * as crypto from "crypto";
import { checkKnownHosts, fingerprint, keyType, knownHostsName, matchesPinned, parsePinnedKeys } from "../../sdk/transport/hostKeys";

/** A syntactically real ssh-ed25519 public-key blob. */
function blob(seed: string): Buffer {
    const type = Buffer.from("ssh-ed25519");
    const key = crypto.createHash("sha256").update(seed).digest();
    const out = Buffer.alloc(4 + type.length + 4 + key.length);
    out.writeUInt32BE(type.length, 0);
    type.copy(out, 4);
    out.writeUInt32BE(key.length, 4 + type.length);
    key.copy(out, 8 + type.length);
    return out;
}
const A = blob("a");
const B = blob("b");
const line = (b: Buffer) => `ssh-ed25519 ${b.toString("base64")}`;

function hashedName(name: string, salt = Buffer.from("0123456789abcdefghij")): string {
    return `|1|${salt.toString("base64")}|${crypto.createHmac("sha1", salt).update(name).digest("base64")}`;
}

describe("host keys", () => {
    it("computes OpenSSH fingerprints and key types", () => {
        assert.match(fingerprint(A), /^SHA256:[A-Za-z0-9+/]{43}$/);
        assert.strictEqual(keyType(A), "ssh-ed25519");
    });

    it("pins a key line, a keyscan line with a host name, or a fingerprint", () => {
        assert.ok(matchesPinned(A, parsePinnedKeys(line(A))));
        assert.ok(matchesPinned(A, parsePinnedKeys(`[10.0.0.5]:2222 ${line(A)} comment`)));
        assert.ok(matchesPinned(A, parsePinnedKeys(fingerprint(A))));
        assert.ok(matchesPinned(A, parsePinnedKeys(`${line(B)}\n${line(A)}\n`)));
        assert.ok(!matchesPinned(A, parsePinnedKeys(line(B))));
    });

    it("refuses a hostKey that is not a key, naming the input", () => {
        assert.throws(() => parsePinnedKeys("not a key"), {
            message: `connection.hostKey has a line that is neither an OpenSSH public key nor a SHA256 fingerprint: "not a key"; use the output of ssh-keyscan (e.g. "ssh-ed25519 AAAAC3Nza…") or "SHA256:…" from ssh-keygen -lf`,
        });
        assert.throws(() => parsePinnedKeys("\n# only a comment\n"), { message: "connection.hostKey is empty; give the host's public key line or its SHA256 fingerprint" });
    });

    it("names hosts as OpenSSH does", () => {
        assert.strictEqual(knownHostsName("h", 22), "h");
        assert.strictEqual(knownHostsName("127.0.0.1", 2222), "[127.0.0.1]:2222");
    });

    const cases: [string, string, Buffer, string][] = [
        ["plain name", `h.example ${line(A)}`, A, "match"],
        ["one of several names", `x,h.example,y ${line(A)}`, A, "match"],
        ["bracketed port", `[127.0.0.1]:2222 ${line(A)}`, A, "match"],
        ["hashed name", `${hashedName("h.example")} ${line(A)}`, A, "match"],
        ["wildcard", `*.example ${line(A)}`, A, "match"],
        ["negated wildcard", `*.example,!h.example ${line(A)}`, A, "unknown"],
        ["other host", `other ${line(A)}`, A, "unknown"],
        ["wrong key", `h.example ${line(B)}`, A, "mismatch"],
        ["revoked", `@revoked * ${line(A)}\nh.example ${line(A)}`, A, "revoked"],
        ["cert authority cannot vouch", `@cert-authority *.example ${line(A)}`, A, "unknown"],
    ];
    for (const [what, text, key, verdict] of cases) {
        it(`known_hosts: ${what} → ${verdict}`, () => {
            const name = what === "bracketed port" ? "[127.0.0.1]:2222" : "h.example";
            assert.strictEqual(checkKnownHosts(text, name, key).verdict, verdict);
        });
    }

    it("says which keys known_hosts expected on a mismatch", () => {
        assert.deepStrictEqual(checkKnownHosts(`h ${line(B)}`, "h", A), { verdict: "mismatch", expected: [`${fingerprint(B)} (ssh-ed25519)`] });
    });
});
