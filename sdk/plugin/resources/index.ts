import { deltaDeployment } from "./deltaDeployment";
import { sqlDelta } from "./sqlDelta";
import type { ResourceLifecycle } from "./types";

/** The custom resources the plugin serves, by type token. */
export const RESOURCES: Record<string, ResourceLifecycle> = {
    "delta:index:DeltaDeployment": deltaDeployment,
    "delta:index:SqlDelta": sqlDelta,
};
