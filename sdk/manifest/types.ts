/** One file of a manifest. */
export interface ManifestEntry {
    /** Permission bits, e.g. 0o644. */
    mode: number;
    size: number;
    /** Lowercase hex sha256 of the content. */
    sha256: string;
}

/**
 * path → entry for a tree. `kind: "file"` means the source was a single file
 * (its one entry is keyed by the file's base name and lands at the
 * destination path itself).
 */
export interface Manifest {
    kind: "dir" | "file";
    entries: Map<string, ManifestEntry>;
}

/** The delta between two manifests; every list sorted by path. */
export interface ManifestDelta {
    added: string[];
    changed: string[];
    removed: string[];
    unchanged: number;
}
