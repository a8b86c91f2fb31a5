export { DeltaDeployment } from "./components/deltaDeployment";
export type { DeltaDeploymentArgs, LastDelta, OnDestroy } from "./components/deltaDeployment";
export type { ConnectionArgs } from "./connection";
