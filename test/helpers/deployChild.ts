/**
 * A deployment in a process of its own, for tests that kill it with SIGKILL
 * mid-phase: argv[2] is the JSON of {@link ChildDeploy}. The source is both
 * the previous and the next version (a redeploy), so what changes is only
 * what `drifted` names.
 */
import { deploy, OwnerId } from "../../sdk/apply";
import { buildManifest } from "../../sdk/manifest";
import { connectSsh, LocalTransport } from "../../sdk/transport";

export interface ChildDeploy {
    connection?: Parameters<typeof connectSsh>[0];
    source: string;
    destination: string;
    stateDir: string;
    identity: OwnerId;
    drifted: string[];
}

async function main(): Promise<void> {
    const req = JSON.parse(process.argv[2]) as ChildDeploy;
    const t = req.connection ? await connectSsh(req.connection) : new LocalTransport();
    const v = buildManifest(req.source);
    await deploy(t, { source: req.source, destination: req.destination, stateDir: req.stateDir, previous: v, next: v, identity: req.identity, drifted: req.drifted });
    await t.close();
}

main().then(
    () => process.exit(0),
    (err: Error) => {
        process.stderr.write(`${err.message}\n`);
        process.exit(1);
    },
);
