export * from "./types";
export * from "./manifest";
export * from "./diff";
export * from "./encode";
export { excludeMatcher, validateExclude } from "./exclude";
export { hashFile } from "./hash";
export { walkSource, SourceError } from "./walk";
export type { WalkedFile, WalkResult } from "./walk";
