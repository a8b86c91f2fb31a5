import * as pulumi from "@pulumi/pulumi";
import { DELTA_DEPLOYMENT_TYPE, DeltaDeployment } from "./deltaDeployment";
import { SQL_DELTA_TYPE, SqlDelta } from "./sqlDelta";
import { packageVersion } from "../version";

/**
 * Lets the SDK turn a resource reference from the plugin (a fleet's
 * `deployments`) back into a DeltaDeployment object, as generated SDKs do.
 */
pulumi.runtime.registerResourceModule("delta", "index", {
    version: packageVersion(),
    construct(name: string, type: string, urn: string): pulumi.Resource {
        switch (type) {
            case DELTA_DEPLOYMENT_TYPE:
                return new DeltaDeployment(name, {} as never, { urn });
            case SQL_DELTA_TYPE:
                return new SqlDelta(name, {} as never, { urn });
            default:
                throw new Error(`pulumi-delta: unknown resource type ${type}`);
        }
    },
});
