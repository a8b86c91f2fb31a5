import { ConstructRequest } from "@pulumi/pulumi/proto/provider_pb";
import { COMPONENTS } from "../components";
import { construct } from "./construct";

/**
 * The Construct half of the plugin, loaded on first use (it needs the Pulumi
 * SDK, slow to load). Requests and responses cross as protobuf bytes: the
 * plugin's bundle and this one each carry their own protobuf classes.
 */
export async function constructBytes(request: Uint8Array, engineAddress: string): Promise<Uint8Array> {
    const req = ConstructRequest.deserializeBinary(request);
    const c = COMPONENTS[req.getType()];
    if (!c) throw new Error(`unknown component type ${req.getType()}; pulumi-delta constructs ${Object.keys(COMPONENTS).join(", ")}`);
    return (await construct(req, engineAddress, c)).serializeBinary();
}
