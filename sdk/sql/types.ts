/** The delta file formats read as they are written. */
export type DeltaFormat = "seed" | "dbmate" | "goose";

/** One SQL delta file, parsed. */
export interface SqlDelta {
    /** The file name without `.sql`: the key in the history table and in resource names. */
    id: string;
    /** The file name as found, for messages. */
    file: string;
    /** The first run of digits in the file name; deltas are ordered by it, then by name. */
    version: bigint;
    format: DeltaFormat;
    /** The up part, normalized (see `normalizeSql`); it is what runs and what is hashed. */
    up: string;
    /** The down part, normalized; undefined when the delta is irreversible. */
    down?: string;
    /** `sha256:<hex>` of `up`. */
    checksum: string;
}

/** A problem with delta files; the message names the file and says what to do. */
export class DeltaFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "DeltaFileError";
    }
}
