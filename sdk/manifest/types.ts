/**
 * One path of a manifest: a regular file (no `type`), a symlink or a folder.
 *
 * A symlink carries its target text in `target`; its `sha256` is the sha256
 * of that text and `size` its length in bytes, so that every comparison of
 * `sha256` and `mode` (diffs, ledgers, records) sees a retargeted link as a
 * change without knowing about links. A folder has `size` 0 and the sha256
 * of the empty string; only its mode matters.
 */
export interface ManifestEntry {
    /** Permission bits, e.g. 0o644 (0o777 for a symlink). */
    mode: number;
    size: number;
    /** Lowercase hex sha256 of the content (of the target text for a symlink). */
    sha256: string;
    /** Absent for a regular file. */
    type?: "symlink" | "dir";
    /** A symlink's target, as `readlink` returns it. */
    target?: string;
}

export type EntryKind = "file" | "symlink" | "dir";

/**
 * path → entry for a tree. `kind: "file"` means the source was a single file
 * (its one entry is keyed by the file's base name and lands at the
 * destination path itself).
 *
 * Folders are implied by the paths below them; a folder is an entry of its
 * own only when it is empty or its mode is not {@link DEFAULT_DIR_MODE}, so a
 * tree without symlinks, empty folders or unusual folder modes has the same
 * manifest (and digest) as before folders and links were kept.
 */
export interface Manifest {
    kind: "dir" | "file";
    entries: Map<string, ManifestEntry>;
}

/** The mode of a folder that is implied by its contents rather than listed. */
export const DEFAULT_DIR_MODE = 0o755;

/** The delta between two manifests; every list sorted by path. */
export interface ManifestDelta {
    added: string[];
    changed: string[];
    removed: string[];
    unchanged: number;
}
