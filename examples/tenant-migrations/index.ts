// Tenant migrations: apply the SQL deltas in ./deltas (goose, seed and dbmate
// formats side by side) to every tenant database that lacks them, in order.
// Removing a delta file, or `pulumi destroy`, runs its down part.
//
// Run it (from this folder): npm install && npm install --no-save pulumi-delta
// (or the .tgz of `npm pack` in the repository), then `pulumi up`.
//
// Locally by default: one SQLite file per tenant under <repo>/.demo-target/tenants.
// PostgreSQL on a host reached over SSH (psql runs there):
//   pulumi config set engine postgres
//   pulumi config set tenants '["acme","globex","initech"]' --path=false
//   pulumi config set host 10.0.0.5                 # the SSH host; default: this machine
//   pulumi config set --secret privateKey "$(cat ~/.ssh/id_ed25519)"
//   pulumi config set hostKey "$(ssh-keyscan -t ed25519 10.0.0.5 2>/dev/null)"
//   pulumi config set dbHost 127.0.0.1              # as the SSH host sees the server
//   pulumi config set dbUser app
//   pulumi config set --secret dbPassword '…'       # lives on the host only as a 0600 file, per run
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { SqlDeltas } from "pulumi-delta";

const cfg = new pulumi.Config();
const engine = cfg.get("engine") === "postgres" ? "postgres" : "sqlite";
const tenants = cfg.getObject<string[]>("tenants") ?? ["acme", "globex", "initech"];
const host = cfg.get("host");

let databaseDir: string | undefined;
if (engine === "sqlite") {
    databaseDir = cfg.get("databaseDir") ?? path.resolve(__dirname, "..", "..", ".demo-target", "tenants");
    if (!host) {
        // SqlDeltas never creates a database (a typo would otherwise get a fresh one); the demo does.
        fs.mkdirSync(databaseDir, { recursive: true });
        for (const t of tenants) fs.closeSync(fs.openSync(path.join(databaseDir, `${t}.db`), "a"));
    }
}

const migrations = new SqlDeltas("tenants", {
    deltas: path.join(__dirname, "deltas"),
    tenants,
    engine,
    databaseDir,
    connection: host
        ? { host, port: cfg.getNumber("port"), user: cfg.get("user"), privateKey: cfg.getSecret("privateKey"), hostKey: cfg.get("hostKey") }
        : undefined,
    client:
        engine === "postgres"
            ? { host: cfg.get("dbHost"), port: cfg.getNumber("dbPort"), user: cfg.get("dbUser"), password: cfg.getSecret("dbPassword") }
            : undefined,
});

export const applied = migrations.applied;
