import * as pulumi from "@pulumi/pulumi";
import { packageVersion } from "../version";

/** Options asking for the plugin of this package's own version, as generated SDKs do. */
export function withVersion<T extends pulumi.ResourceOptions>(opts: T | undefined): T {
    return { ...(opts ?? ({} as T)), version: opts?.version ?? packageVersion() };
}
