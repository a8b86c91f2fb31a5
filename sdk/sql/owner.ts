import { quoteLiteral } from "./names";
import { MARK } from "./scriptTypes";

/**
 * Who answers for a history row: the stack, the resource's URN, and the one
 * instance of that resource (minted by its create) that applied or adopted
 * it. Only that instance's delete runs the delta's down part; the stack and
 * URN are there for people and messages.
 */
export interface Owner {
    /** `<organization>/<project>/<stack>`. */
    stack: string;
    urn: string;
    instance: string;
}

/** A row's owner as recorded; every field null in a row written by 0.1 (or by hand). */
export interface RecordedOwner {
    stack: string | null;
    urn: string | null;
    instance: string | null;
}

export const UNOWNED: RecordedOwner = { stack: null, urn: null, instance: null };

/** Added to a 0.1 history table on first write; nullable, so 0.1 rows read as unowned. */
export const OWNER_COLUMNS = ["owner_stack", "owner_urn", "owner_instance"] as const;

/** `SET` list that makes `o` the row's owner. */
export function ownerAssignments(o: Owner): string {
    return `owner_stack = ${quoteLiteral(o.stack)}, owner_urn = ${quoteLiteral(o.urn)}, owner_instance = ${quoteLiteral(o.instance)}`;
}

/** The owner columns' values for an INSERT, in OWNER_COLUMNS order. */
export function ownerValues(o: Owner): string {
    return [o.stack, o.urn, o.instance].map(quoteLiteral).join(", ");
}

/**
 * A condition true when the row belongs to `instance`; undefined stands for
 * state written before instance ids, which owns the rows 0.1 left unowned.
 * Null-safe in both engines (`IS` in SQLite, `IS NOT DISTINCT FROM` in PostgreSQL).
 */
export function ownedBy(instance: string | undefined, nullSafeEquals: "IS" | "IS NOT DISTINCT FROM"): string {
    return instance === undefined ? "owner_instance IS NULL" : `owner_instance ${nullSafeEquals} ${quoteLiteral(instance)}`;
}

/** Reads the `owner` line a script printed (a JSON array of the three columns), if any. */
export function ownerLine(stdout: string): RecordedOwner | undefined {
    const m = new RegExp(`^${MARK}owner (\\[.*\\])$`, "m").exec(stdout);
    if (!m) return undefined;
    const v = JSON.parse(m[1]) as unknown[];
    const text = (x: unknown) => (typeof x === "string" ? x : null);
    return { stack: text(v[0]), urn: text(v[1]), instance: text(v[2]) };
}

/** `<stack> <urn> (instance <id>)`, with what is missing said so, for messages. */
export function describeOwner(o: RecordedOwner): string {
    return `${o.stack ?? "(no stack recorded)"} ${o.urn ?? "(no URN recorded)"} (instance ${o.instance ?? "none"})`;
}
