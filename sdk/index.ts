export { DeltaDeployment, sourceWalkCount } from "./components/deltaDeployment";
export type { DeltaDeploymentArgs, LastDelta, OnDestroy } from "./components/deltaDeployment";
export type { ConnectionArgs } from "./connection";
export { DeltaFleet, type DeltaFleetArgs, type FleetHost, type FleetRollout } from "./components/deltaFleet";
export { SqlDeltas } from "./components/sqlDeltas";
export type { SqlDeltasArgs, SqlClientArgs, Engine, TenantSpec } from "./components/sqlDeltas";
export type { DeltaRecord, DeltaRecordSummary } from "./components/deltaDeployment";
