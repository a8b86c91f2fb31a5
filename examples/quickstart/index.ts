// Quickstart: deploy ./site to a directory, locally by default or to a host over SSH.
//
//   pulumi config set destination /srv/www/site      # default: <repo>/.demo-target/site
//   pulumi config set stateDir /var/lib/pulumi-delta # default: <repo>/.demo-target/state locally, else by user
//   pulumi config set host 10.0.0.5                  # default: none (this machine)
//   pulumi config set user deploy                    # default: root
//   pulumi config set --secret privateKey "$(cat ~/.ssh/id_ed25519)"
//   pulumi config set hostKey "$(ssh-keyscan -t ed25519 10.0.0.5 2>/dev/null)"
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DeltaDeployment } from "pulumi-delta";

const cfg = new pulumi.Config();
const demoRoot = path.resolve(__dirname, "..", "..", ".demo-target");
const host = cfg.get("host");

const site = new DeltaDeployment("site", {
    source: path.join(__dirname, "site"),
    destination: cfg.get("destination") ?? path.join(demoRoot, "site"),
    connection: host
        ? {
              host,
              port: cfg.getNumber("port"),
              user: cfg.get("user"),
              privateKey: cfg.getSecret("privateKey"),
              hostKey: cfg.get("hostKey"),
          }
        : undefined,
    exclude: ["**/*.tmp", "**/.DS_Store"],
    // Locally, keep the demo's metadata beside its target instead of in ~/.local/state.
    stateDir: cfg.get("stateDir") ?? (host ? undefined : path.join(demoRoot, "state")),
});

export const manifestDigest = site.manifestDigest;
export const fileCount = site.fileCount;
export const lastDelta = site.lastDelta;
