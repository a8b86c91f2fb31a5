import * as assert from "assert";
import * as crypto from "crypto";
import { checkKnownHosts, fingerprint, hostKeyProblems, keyType, knownHostsName, matchesPinned, parsePinnedKeys } from "../../sdk/transport/hostKeys";
import { ed25519Line, rsaLine } from "../helpers/keys";

const AT = { host: "10.0.0.5", port: 2222 };

/** The fix every hostKey message ends with. */
function howTo(host: string, port?: number): string {
    const scan = `ssh-keyscan -t ed25519${port ? ` -p ${port}` : ""} ${host}`;
    return `give the host's public-key line, e.g. "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA…" as \`${scan}\` prints it, or its fingerprint, e.g. "SHA256:" and 43 characters as \`${scan} | ssh-keygen -lf -\` prints it`;
}

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
            message: `connection.hostKey "not a key" is not a usable host key: it is neither an OpenSSH public-key line nor a SHA256 fingerprint; ${howTo("<host>")}`,
        });
        assert.throws(() => parsePinnedKeys("\n# only a comment\n", "connection.proxy", { host: "b", port: 22 }), { message: `connection.proxy.hostKey is empty; ${howTo("b")}` });
    });

    it("accepts what ssh-keyscan and ssh-keygen -l print, the same key however given", () => {
        const ed = ed25519Line();
        const rsa = rsaLine();
        const fp = fingerprint(Buffer.from(ed.split(" ")[1], "base64"));
        for (const text of [ed, `[10.0.0.5]:2222 ${ed} root@vm`, `ssh-gw.example ${ed}`, fp, `256 ${fp} root@vm (ED25519)`, `# pinned\n${rsa}\n\n${ed}\n`]) {
            assert.deepStrictEqual(hostKeyProblems(text, "connection", AT), [], text);
            assert.ok(matchesPinned(Buffer.from(ed.split(" ")[1], "base64"), parsePinnedKeys(text)), text);
        }
    });

    const ed = ed25519Line();
    const rsaB64 = rsaLine().split(" ")[1];
    const edB64 = ed.split(" ")[1];
    const bad: [string, string, string][] = [
        ["neither form", "AAAAC3NzaC1lZDI1NTE5", "it is neither an OpenSSH public-key line nor a SHA256 fingerprint"],
        ["a type without a key", "ssh-ed25519", "the key type ssh-ed25519 is not followed by the key's base64"],
        ["a key that is not base64", "ssh-ed25519 AAAA!!!!", "the text after ssh-ed25519 is not the base64 of an SSH public key"],
        ["base64 that is no key blob", `ssh-ed25519 ${Buffer.from("hello world").toString("base64")}`, "the text after ssh-ed25519 is not the base64 of an SSH public key"],
        ["a key cut short", `ssh-ed25519 ${edB64.slice(0, 40)}`, "the text after ssh-ed25519 is not the base64 of an SSH public key"],
        ["a key of another type than the line says", `ssh-ed25519 ${rsaB64}`, `the key inside is "ssh-rsa", not ssh-ed25519 as the line says`],
        ["a short fingerprint", "SHA256:x", `a SHA256 fingerprint has 43 base64 characters after "SHA256:", this one has 1`],
        ["a fingerprint outside base64", `SHA256:${"-".repeat(43)}`, `a SHA256 fingerprint is "SHA256:" and 43 base64 characters (A-Z a-z 0-9 + /), this one has others`],
        ["an MD5 fingerprint", "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48", "it is neither an OpenSSH public-key line nor a SHA256 fingerprint"],
    ];
    for (const [what, text, reason] of bad) {
        it(`refuses ${what}, naming the input, both forms and the command`, () => {
            const shown = JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
            assert.deepStrictEqual(hostKeyProblems(text, "connection", AT), [`connection.hostKey ${shown} is not a usable host key: ${reason}; ${howTo("10.0.0.5", 2222)}`]);
        });
    }

    it("names the bad lines of a several-line hostKey, all at once", () => {
        assert.deepStrictEqual(hostKeyProblems(`${ed}\nSHA256:x\n# c\nnope`, "connection.proxy", { host: "b" }), [
            `connection.proxy.hostKey line 2 "SHA256:x" is not a usable host key: a SHA256 fingerprint has 43 base64 characters after "SHA256:", this one has 1; ${howTo("b")}`,
            `connection.proxy.hostKey line 4 "nope" is not a usable host key: it is neither an OpenSSH public-key line nor a SHA256 fingerprint; ${howTo("b")}`,
        ]);
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
