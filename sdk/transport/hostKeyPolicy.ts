import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConnectionInputs, DEFAULT_PORT } from "../connection";
import { checkKnownHosts, fingerprint, keyType, knownHostsName, matchesPinned, parsePinnedKeys, pinnedFingerprint } from "./hostKeys";

function knownHostsFiles(): string[] {
    return [path.join(os.homedir(), ".ssh", "known_hosts"), "/etc/ssh/ssh_known_hosts"];
}

/**
 * Decides whether to trust the key a server presents. Returns undefined to
 * accept, or the reason to refuse (which becomes the error users see).
 */
export function hostKeyProblem(c: ConnectionInputs, blob: Buffer, prefix: string): string | undefined {
    if (c.insecureIgnoreHostKey) return undefined;
    const where = `${c.host}:${c.port ?? DEFAULT_PORT}`;
    const presented = `${fingerprint(blob)} (${keyType(blob)})`;
    if (c.hostKey) {
        const pinned = parsePinnedKeys(c.hostKey, prefix, c);
        if (matchesPinned(blob, pinned)) return undefined;
        return (
            `host key verification failed for ${where}: the server presented ${presented}, ` +
            `but ${prefix}.hostKey pins ${pinned.map(pinnedFingerprint).join(", ")}. ` +
            `If the host was re-keyed on purpose, update ${prefix}.hostKey; otherwise someone may be intercepting the connection`
        );
    }
    const name = knownHostsName(c.host, c.port ?? DEFAULT_PORT);
    const files = knownHostsFiles();
    for (const file of files) {
        let text: string;
        try {
            text = fs.readFileSync(file, "utf8");
        } catch {
            continue;
        }
        const v = checkKnownHosts(text, name, blob);
        if (v.verdict === "match") return undefined;
        if (v.verdict === "revoked") return `host key verification failed for ${where}: the key ${presented} is marked @revoked in ${file}`;
        if (v.verdict === "mismatch") {
            return (
                `host key verification failed for ${where}: the server presented ${presented}, ` +
                `but ${file} expects ${v.expected.join(", ")}. If the host was re-keyed on purpose, ` +
                `remove the old entry (ssh-keygen -R '${name}') or pin the new key with ${prefix}.hostKey`
            );
        }
    }
    return (
        `host ${name} is not in ${files.join(" or ")}, so its key ${presented} cannot be verified: ` +
        `set ${prefix}.hostKey to the host's public key line (ssh-keyscan -p ${c.port ?? DEFAULT_PORT} ${c.host}), ` +
        `add it to known_hosts, or set ${prefix}.insecureIgnoreHostKey: true to skip the check`
    );
}
