// nginx-config, second form: for teams that already run @pulumi/command.
// The DeltaDeployment replaces app.conf and checks it with `nginx -t` (a bad
// file is put back before anything reloads); the reload is a remote.Command
// chained after it, run again whenever the deployed manifest changes.
//
// Trade-off against ../index.ts: there, a failed reload puts the old file
// back and reloads again (onChange). Here the reload is a separate resource:
// if it fails, the new app.conf stays in place and `pulumi up` reports the
// Command as failed; fix and run `pulumi up` again, or redeploy the old file.
//
//   pulumi config set host 10.0.0.5
//   pulumi config set user root                      # default: root
//   pulumi config set --secret privateKey "$(cat ~/.ssh/id_ed25519)"
//   pulumi config set hostKey "$(ssh-keyscan -t ed25519 10.0.0.5 2>/dev/null)"
//   pulumi config set destination /etc/nginx/conf.d/app.conf   # the default
//   pulumi config set reload "systemctl reload nginx"          # the default
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { DeltaDeployment } from "pulumi-delta";

const cfg = new pulumi.Config();
// One value serves both libraries: DeltaDeployment takes @pulumi/command's connection field names.
const connection = {
    host: cfg.require("host"),
    port: cfg.getNumber("port"),
    user: cfg.get("user") ?? "root",
    privateKey: cfg.requireSecret("privateKey"),
    hostKey: cfg.get("hostKey"),
};

const appConf = new DeltaDeployment("app-conf", {
    source: cfg.get("source") ?? path.join(__dirname, "..", "app.conf"),
    destination: cfg.get("destination") ?? "/etc/nginx/conf.d/app.conf",
    connection,
    validate: cfg.get("validate") ?? "nginx -t",
    stateDir: cfg.get("stateDir"),
});

// dependsOn orders the first run; the trigger re-runs the reload only when
// the deployed files change (the digest covers every path, mode and hash).
const reload = new remote.Command(
    "reload-nginx",
    {
        connection,
        create: cfg.get("reload") ?? "systemctl reload nginx",
        triggers: [appConf.manifestDigest],
    },
    { dependsOn: [appConf] },
);

export const manifestDigest = appConf.manifestDigest;
export const lastDelta = appConf.lastDelta;
export const reloadOutput = reload.stdout;
