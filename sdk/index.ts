import "./components/resourceModule";

export { DeltaDeployment, DEFAULT_DIFF_FILE_LIMIT } from "./components/deltaDeployment";
export type { DeltaDeploymentArgs, LastDelta, OnDestroy, Strategy, DeltaRecord, DeltaRecordSummary } from "./components/deltaDeployment";
export type { ConnectionArgs } from "./connection";
export { DeltaFleet, type DeltaFleetArgs, type FleetHost, type FleetRollout } from "./components/deltaFleet";
export { SqlDeltas } from "./components/sqlDeltas";
export type { SqlDeltasArgs, SqlClientArgs, Engine, TenantSpec } from "./components/sqlDeltas";
export { SqlDelta, type SqlDeltaArgs } from "./components/sqlDelta";
