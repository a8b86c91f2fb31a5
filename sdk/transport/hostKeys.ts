import * as crypto from "crypto";

/** OpenSSH's fingerprint of a public-key blob: `SHA256:` + unpadded base64. */
export function fingerprint(blob: Buffer): string {
    return "SHA256:" + crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** The key type written inside a public-key blob (its first SSH string). */
export function keyType(blob: Buffer): string {
    if (blob.length < 4) return "unknown";
    const n = blob.readUInt32BE(0);
    return blob.subarray(4, 4 + n).toString("latin1");
}

const KEY_TYPE = /^(ssh-|ecdsa-|sk-ssh-|sk-ecdsa-|rsa-)/;

export type PinnedKey = { kind: "blob"; blob: Buffer } | { kind: "fingerprint"; fingerprint: string };

/**
 * Reads `connection.hostKey`: OpenSSH public-key lines (optionally with host
 * names in front, as ssh-keyscan prints them) or `SHA256:` fingerprints, one
 * per line. Throws naming the input when nothing usable is found.
 */
export function parsePinnedKeys(text: string): PinnedKey[] {
    const keys: PinnedKey[] = [];
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (!line || line.startsWith("#")) continue;
        if (/^SHA256:[A-Za-z0-9+/]+=*$/.test(line)) {
            keys.push({ kind: "fingerprint", fingerprint: line.replace(/=+$/, "") });
            continue;
        }
        const fields = line.split(/\s+/);
        const at = fields.findIndex((f) => KEY_TYPE.test(f));
        if (at < 0 || at + 1 >= fields.length) {
            throw new Error(
                `connection.hostKey has a line that is neither an OpenSSH public key nor a SHA256 fingerprint: ${JSON.stringify(line.slice(0, 60))}; ` +
                    `use the output of ssh-keyscan (e.g. "ssh-ed25519 AAAAC3Nza…") or "SHA256:…" from ssh-keygen -lf`,
            );
        }
        keys.push({ kind: "blob", blob: Buffer.from(fields[at + 1], "base64") });
    }
    if (keys.length === 0) throw new Error(`connection.hostKey is empty; give the host's public key line or its SHA256 fingerprint`);
    return keys;
}

export function pinnedFingerprint(k: PinnedKey): string {
    return k.kind === "blob" ? fingerprint(k.blob) : k.fingerprint;
}

export function matchesPinned(blob: Buffer, keys: PinnedKey[]): boolean {
    const fp = fingerprint(blob);
    return keys.some((k) => (k.kind === "blob" ? k.blob.equals(blob) : k.fingerprint === fp));
}

/** The name OpenSSH looks a host up by: `host`, or `[host]:port` off port 22. */
export function knownHostsName(host: string, port: number): string {
    return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(glob: string): RegExp {
    const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    return new RegExp(`^${body}$`, "i");
}

function hostMatches(patterns: string, name: string): boolean {
    if (patterns.startsWith("|1|")) {
        const [, , salt, hash] = patterns.split("|");
        if (!salt || !hash) return false;
        const mac = crypto.createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
        return mac === hash;
    }
    let matched = false;
    for (const p of patterns.split(",")) {
        if (p.startsWith("!")) {
            if (globToRegExp(p.slice(1)).test(name)) return false;
        } else if (globToRegExp(p).test(name)) {
            matched = true;
        }
    }
    return matched;
}

export type KnownHostsVerdict =
    | { verdict: "match" }
    | { verdict: "revoked" }
    | { verdict: "mismatch"; expected: string[] }
    | { verdict: "unknown" };

/** Looks a host's key up in known_hosts text, as OpenSSH does (hashed names, wildcards, negation, @revoked). */
export function checkKnownHosts(text: string, name: string, blob: Buffer): KnownHostsVerdict {
    const expected: string[] = [];
    let match = false;
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (!line || line.startsWith("#")) continue;
        const fields = line.split(/\s+/);
        let marker = "";
        if (fields[0].startsWith("@")) marker = fields.shift()!;
        if (fields.length < 3) continue;
        const [patterns, , b64] = fields;
        if (!hostMatches(patterns, name)) continue;
        const lineBlob = Buffer.from(b64, "base64");
        if (marker === "@revoked") {
            if (lineBlob.equals(blob)) return { verdict: "revoked" };
            continue;
        }
        if (marker) continue; // @cert-authority: certificates are not supported, so such lines cannot vouch.
        if (lineBlob.equals(blob)) match = true;
        else expected.push(`${fingerprint(lineBlob)} (${keyType(lineBlob)})`);
    }
    if (match) return { verdict: "match" };
    return expected.length ? { verdict: "mismatch", expected } : { verdict: "unknown" };
}
