import { DeltaFileError } from "./types";

/**
 * A delta's version: the first run of digits in its file name, read as a
 * number (`0001_users.sql` → 1, `delta_20250315_add_last_login.sql` →
 * 20250315, dbmate's `20250401093000_x.sql` → 20250401093000). BigInt, so
 * long timestamps compare exactly.
 */
export function versionOf(fileName: string, shown = fileName): bigint {
    const m = /[0-9]+/.exec(fileName);
    if (!m) {
        throw new DeltaFileError(
            `${shown}: the file name has no version number; deltas are ordered by the first run of digits in their name, e.g. 0001_create_users.sql or 20250315_add_last_login.sql`,
        );
    }
    return BigInt(m[0]);
}

/** Byte-wise comparison of UTF-8 names, so the order does not depend on locale. */
export function compareNames(a: string, b: string): number {
    return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Delta order: by version, then byte-wise by name. */
export function compareDeltas(a: { version: bigint; id: string }, b: { version: bigint; id: string }): number {
    if (a.version !== b.version) return a.version < b.version ? -1 : 1;
    return compareNames(a.id, b.id);
}
