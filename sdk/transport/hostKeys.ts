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
/** OpenSSH's host-key types: looked for first, so that a host name such as "ssh-gw" in front is not taken for one. */
const KNOWN_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)(-cert-v01@openssh\.com)?$/;
/** What ssh-keygen -l prints: SHA256 digests are 32 bytes, 43 base64 characters unpadded. */
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type PinnedKey = { kind: "blob"; blob: Buffer } | { kind: "fingerprint"; fingerprint: string };

/**
 * The SSH strings a public-key blob is made of (type, then the key's
 * parts), or undefined when the bytes are not such a sequence.
 */
function blobStrings(blob: Buffer): Buffer[] | undefined {
    const parts: Buffer[] = [];
    for (let at = 0; at < blob.length; ) {
        if (at + 4 > blob.length) return undefined;
        const n = blob.readUInt32BE(at);
        if (at + 4 + n > blob.length) return undefined;
        parts.push(blob.subarray(at + 4, at + 4 + n));
        at += 4 + n;
    }
    return parts.length >= 2 ? parts : undefined;
}

/** One line of a pin: the key it names, or why it names none. */
function parsePinLine(line: string): { key: PinnedKey } | { problem: string } {
    const fields = line.split(/\s+/);
    // ssh-keyscan puts the host names in front; a comment may follow the key.
    const known = fields.findIndex((f) => KNOWN_TYPE.test(f));
    const at = known >= 0 ? known : fields.findIndex((f) => KEY_TYPE.test(f));
    if (at < 0) {
        // A fingerprint alone, or as ssh-keygen -l prints it: "256 SHA256:… comment (ED25519)".
        const fp = fields.find((f) => f.startsWith("SHA256:"));
        if (fp === undefined) return { problem: "it is neither an OpenSSH public-key line nor a SHA256 fingerprint" };
        if (FINGERPRINT.test(fp)) return { key: { kind: "fingerprint", fingerprint: fp.replace(/=+$/, "") } };
        const digest = fp.slice("SHA256:".length).replace(/=$/, "");
        if (!/^[A-Za-z0-9+/]*$/.test(digest)) return { problem: `a SHA256 fingerprint is "SHA256:" and 43 base64 characters (A-Z a-z 0-9 + /), this one has others` };
        return { problem: `a SHA256 fingerprint has 43 base64 characters after "SHA256:", this one has ${digest.length}` };
    }
    const type = fields[at];
    const b64 = fields[at + 1];
    if (b64 === undefined) return { problem: `the key type ${type} is not followed by the key's base64` };
    const parts = BASE64.test(b64) ? blobStrings(Buffer.from(b64, "base64")) : undefined;
    if (!parts) return { problem: `the text after ${type} is not the base64 of an SSH public key` };
    const inner = parts[0].toString("latin1");
    if (inner !== type) return { problem: `the key inside is ${JSON.stringify(inner)}, not ${type} as the line says` };
    return { key: { kind: "blob", blob: Buffer.from(b64, "base64") } };
}

/** Where a pin comes from, for the fix in messages: `ssh-keyscan` of this host. */
export interface PinSource {
    host?: string;
    port?: number;
}

function keyscan(at: PinSource): string {
    const host = at.host && at.host.trim() ? at.host : "<host>";
    return `ssh-keyscan -t ed25519${at.port !== undefined && at.port !== 22 ? ` -p ${at.port}` : ""} ${host}`;
}

function howToPin(at: PinSource): string {
    const scan = keyscan(at);
    return (
        `give the host's public-key line, e.g. "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA…" as \`${scan}\` prints it, ` +
        `or its fingerprint, e.g. "SHA256:" and 43 characters as \`${scan} | ssh-keygen -lf -\` prints it`
    );
}

/**
 * Every problem with a `hostKey` value (`prefix` names it, e.g.
 * `connection.proxy`), each with both accepted forms and the command that
 * prints them. Empty when every line is a usable key or fingerprint.
 */
export function hostKeyProblems(text: string, prefix = "connection", at: PinSource = {}): string[] {
    const lines = text.split(/\r?\n/).map((l) => l.trim());
    const used = lines.filter((l) => l && !l.startsWith("#")).length;
    if (used === 0) return [`${prefix}.hostKey is empty; ${howToPin(at)}`];
    const problems: string[] = [];
    lines.forEach((line, i) => {
        if (!line || line.startsWith("#")) return;
        const r = parsePinLine(line);
        if ("problem" in r) {
            const shown = JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line);
            problems.push(`${prefix}.hostKey${used > 1 ? ` line ${i + 1}` : ""} ${shown} is not a usable host key: ${r.problem}; ${howToPin(at)}`);
        }
    });
    return problems;
}

/**
 * Reads a `hostKey`: OpenSSH public-key lines (optionally with host names in
 * front, as ssh-keyscan prints them) or `SHA256:` fingerprints, one per
 * line. Throws with {@link hostKeyProblems} when any line is unusable.
 */
export function parsePinnedKeys(text: string, prefix = "connection", at: PinSource = {}): PinnedKey[] {
    const problems = hostKeyProblems(text, prefix, at);
    if (problems.length) throw new Error(problems.join("; "));
    const keys: PinnedKey[] = [];
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (!line || line.startsWith("#")) continue;
        const r = parsePinLine(line);
        if ("key" in r) keys.push(r.key);
    }
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
