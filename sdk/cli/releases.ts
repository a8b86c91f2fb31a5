import { listReleases } from "../apply/releases/list";
import type { ReleaseListing } from "../apply/releases/list";
import { connectSsh, LocalTransport, Transport } from "../transport";
import type { HistoryOptions } from "./history";

export const RELEASES_USAGE = `usage: pulumi-delta releases <destination> [--json] [--state-dir <dir>] [-p <port>] [-i <keyfile>] [-o StrictHostKeyChecking=no] [[user@]host]

Lists the releases a DeltaDeployment with strategy "releases" keeps for
<destination> (oldest first): id, when it was built, its manifest digest,
and which one <destination> points at now (marked *). Connection flags as
for history.`;

/** One line per release; `*` marks the live one. */
export function formatReleases(releases: ReleaseListing[], destination: string, link: string | undefined): string {
    if (releases.length === 0) return `no releases for ${destination}${link ? ` (it is a symlink to ${link})` : ""}\n`;
    const rows = releases.map((r) => [r.current ? "*" : " ", r.id, r.time, r.digest, String(r.files), r.folder]);
    const header = [" ", "ID", "TIME", "MANIFEST", "FILES", "FOLDER"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const lines = [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  "));
    return `${lines.join("\n")}\n${destination} → ${link ?? "(not a symlink)"}\n`;
}

export async function releases(o: HistoryOptions): Promise<string> {
    const t: Transport = o.connection ? await connectSsh(o.connection) : new LocalTransport();
    try {
        const found = await listReleases(t, o.stateDir, o.destination);
        return o.json ? JSON.stringify(found.releases, null, 2) + "\n" : formatReleases(found.releases, o.destination, found.link);
    } finally {
        await t.close();
    }
}
