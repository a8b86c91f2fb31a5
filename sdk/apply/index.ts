export { deploy, DeployError } from "./deploy";
export type { DeployRequest, DeployResult } from "./deploy";
export { destroy, ON_DESTROY_VALUES } from "./destroy";
export type { DestroyRequest, DestroyResult, OnDestroy } from "./destroy";
export { layoutFor, resolveStateRoot, destinationKey, targetPath, DEFAULT_ROOT_STATE_DIR, DEFAULT_USER_STATE_DIR } from "./layout";
export type { HostLayout } from "./layout";
export { forEachLimit } from "./pool";
export { applyPatch, planPatch, MAX_COPY_RANGE } from "./patch";
export type { ApplyPatchRequest, ApplyPatchResult, PatchPlan } from "./patch";
