// nginx-config: replace /etc/nginx/conf.d/app.conf on a host, check it with
// `nginx -t`, reload nginx, and put the previous file back (and reload again)
// when either fails. Every deployment leaves a JSON record on the host:
//   pulumi-delta history /etc/nginx/conf.d/app.conf root@10.0.0.5
//
//   pulumi config set host 10.0.0.5                  # default: none (this machine)
//   pulumi config set user root                      # default: root
//   pulumi config set --secret privateKey "$(cat ~/.ssh/id_ed25519)"
//   pulumi config set hostKey "$(ssh-keyscan -t ed25519 10.0.0.5 2>/dev/null)"
//   pulumi config set destination /etc/nginx/conf.d/app.conf   # the default
//   pulumi config set validate "nginx -t"                      # the default
//   pulumi config set onChange "systemctl reload nginx"        # the default
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DeltaDeployment } from "pulumi-delta";

const cfg = new pulumi.Config();
const host = cfg.get("host");

const appConf = new DeltaDeployment("app-conf", {
    source: cfg.get("source") ?? path.join(__dirname, "app.conf"),
    destination: cfg.get("destination") ?? "/etc/nginx/conf.d/app.conf",
    connection: host
        ? {
              host,
              port: cfg.getNumber("port"),
              user: cfg.get("user"),
              privateKey: cfg.getSecret("privateKey"),
              hostKey: cfg.get("hostKey"),
          }
        : undefined,
    // With the new file in place: a broken config puts the old one back before nginx ever reloads.
    validate: cfg.get("validate") ?? "nginx -t",
    // After a change: a failed reload puts the old file back and reloads again.
    onChange: cfg.get("onChange") ?? "systemctl reload nginx",
    hookTimeout: cfg.getNumber("hookTimeout") ?? 30,
    stateDir: cfg.get("stateDir"),
});

export const lastDelta = appConf.lastDelta;
export const lastRecord = appConf.lastRecord;
