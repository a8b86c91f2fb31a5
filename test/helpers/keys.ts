import * as crypto from "crypto";

/** An SSH wire string: uint32 length, then the bytes. */
function sshString(b: Buffer): Buffer {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
}

/** An SSH mpint from unsigned big-endian bytes: a leading zero when the top bit is set. */
function mpint(b: Buffer): Buffer {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.subarray(i);
    return sshString(v[0] & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

/** A fresh ed25519 public key as an OpenSSH line (`ssh-ed25519 AAAA…`), made at run time. */
export function ed25519Line(): string {
    const { publicKey } = crypto.generateKeyPairSync("ed25519");
    const raw = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
    return `ssh-ed25519 ${Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(raw)]).toString("base64")}`;
}

/** A fresh RSA public key as an OpenSSH line (`ssh-rsa AAAA…`), made at run time. */
export function rsaLine(): string {
    const { publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = publicKey.export({ format: "jwk" });
    const blob = Buffer.concat([sshString(Buffer.from("ssh-rsa")), mpint(Buffer.from(jwk.e as string, "base64url")), mpint(Buffer.from(jwk.n as string, "base64url"))]);
    return `ssh-rsa ${blob.toString("base64")}`;
}
