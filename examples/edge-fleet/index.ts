// edge-fleet: push one static release (./assets) to many edge hosts. The
// canary deploys first; the other hosts follow in batches, each batch only
// once the one before it has succeeded, so a bad release stops at the canary.
//
//   pulumi config set --path 'hosts[0].name' ams
//   pulumi config set --path 'hosts[0].host' 10.0.1.5
//   pulumi config set --path 'hosts[0].hostKey' "$(ssh-keyscan -t ed25519 10.0.1.5 2>/dev/null)"
//   …the same for hosts[1], hosts[2] (optional per host: port, user)
//   pulumi config set --secret privateKey "$(cat ~/.ssh/id_ed25519)"   # one deploy key for the fleet
//   pulumi config set canary ams          # default: the first host
//   pulumi config set batchSize 2         # default: 10
//   pulumi config set destination /srv/www/edge                         # the default
//   pulumi config set validate "test -s /srv/www/edge/index.html"       # default: none
//
// When one host is down, let the others finish and retry it later:
//   pulumi up --continue-on-error
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DeltaFleet } from "pulumi-delta";

interface HostConfig {
    name: string;
    host: string;
    port?: number;
    user?: string;
    hostKey?: string;
}

const cfg = new pulumi.Config();
const hosts = cfg.requireObject<HostConfig[]>("hosts");
const privateKey = cfg.requireSecret("privateKey");

const release = new DeltaFleet("edge", {
    hosts: hosts.map(({ name, ...connection }) => ({ name, connection: { ...connection, privateKey } })),
    rollout: { canary: cfg.get("canary") ?? hosts[0]?.name, batchSize: cfg.getNumber("batchSize") ?? 10 },
    source: cfg.get("source") ?? path.join(__dirname, "assets"),
    destination: cfg.get("destination") ?? "/srv/www/edge",
    exclude: ["**/*.tmp"],
    validate: cfg.get("validate"),
    stateDir: cfg.get("stateDir"),
});

// By host name: what the last `pulumi up` changed there, and the release it holds.
export const lastDelta = release.lastDelta;
export const manifestDigest = release.manifestDigest;
