import * as grpc from "@grpc/grpc-js";
import * as fs from "fs";
import * as path from "path";
import { ResourceProviderService } from "@pulumi/pulumi/proto/provider_grpc_pb";
import { ConstructResponse } from "@pulumi/pulumi/proto/provider_pb";
import { watchEngine } from "../providers/engineWatch";
import { packageVersion } from "../version";
import { EngineLog } from "./server/engineLog";
import { providerService } from "./server/provider";
import { RESOURCES } from "./resources";

/**
 * `pulumi-resource-delta <engine address>`: serves the ResourceProvider
 * service on a loopback port and prints the port as its first line, which is
 * how the engine finds it. Exits when the engine that started it is gone.
 */

/** schema.json beside the bundle, or the repository's provider/schema.json when run from a build. */
function schemaFile(): string {
    const candidates = [path.join(__dirname, "schema.json"), path.join(__dirname, "..", "..", "provider", "schema.json"), path.join(__dirname, "..", "..", "..", "provider", "schema.json")];
    const found = candidates.find((f) => fs.existsSync(f));
    if (!found) throw new Error(`pulumi-resource-delta: schema.json not found (looked in ${candidates.join(", ")})`);
    return found;
}

type ConstructHalf = typeof import("./server/constructEntry");
let constructModule: ConstructHalf | undefined;

/** construct.js beside the bundle, or the compiled module; required by a computed path so that the bundler leaves it out. */
function constructHalf(): ConstructHalf {
    if (!constructModule) {
        const bundled = path.join(__dirname, "construct.js");
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        constructModule = require(fs.existsSync(bundled) ? bundled : path.join(__dirname, "server", "constructEntry.js")) as ConstructHalf;
    }
    return constructModule;
}

function main(): void {
    const engineAddress = process.argv[2];
    if (!engineAddress) {
        process.stderr.write("usage: pulumi-resource-delta <engine address>\n(the Pulumi engine starts this plugin; it is not run by hand)\n");
        process.exit(2);
    }
    watchEngine();
    const version = packageVersion();
    let schema: string | undefined;
    const engineLog = new EngineLog(engineAddress);
    const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024, "grpc.max_send_message_length": 400 * 1024 * 1024 });
    server.addService(
        ResourceProviderService,
        providerService({
            version,
            schema: () => (schema ??= JSON.stringify({ ...(JSON.parse(fs.readFileSync(schemaFile(), "utf8")) as object), version })),
            resources: RESOURCES,
            construct: async (req) => ConstructResponse.deserializeBinary(await constructHalf().constructBytes(req.serializeBinary(), engineAddress)),
            engineLog,
        }),
    );
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err) {
            process.stderr.write(`pulumi-resource-delta: cannot listen on 127.0.0.1: ${err.message}\n`);
            process.exit(1);
        }
        process.stdout.write(`${port}\n`);
    });
}

main();
