import * as assert from "assert";
import { chainProblem, checksumChangedMessage } from "../../sdk/sql/plan";

describe("sql/plan: order is kept", () => {
    const cases: { name: string; old?: string; now?: string; allow: boolean; want?: string }[] = [
        { name: "unchanged", old: "0001_a", now: "0001_a", allow: false },
        { name: "first stays first", allow: false },
        {
            name: "new delta slipped before an applied one",
            old: "0001_a",
            now: "0002_new",
            allow: false,
            want: "tenant acme: delta 0002_new is new but sorts before 0003_c, which acme already has; rename it to sort after the last applied delta, or set allowOutOfOrder: true to apply it out of order",
        },
        { name: "allowed out of order", old: "0001_a", now: "0002_new", allow: true },
        {
            name: "new first delta",
            now: "0000_new",
            allow: false,
            want: "tenant acme: delta 0000_new is new but sorts before 0003_c, which acme already has; rename it to sort after the last applied delta, or set allowOutOfOrder: true to apply it out of order",
        },
        {
            name: "predecessor removed",
            old: "0002_b",
            now: "0001_a",
            allow: true,
            want: "tenant acme: delta 0002_b was removed but 0003_c, applied after it, stays; remove 0003_c too (its down part then runs first), or restore 0002_b",
        },
        {
            name: "only predecessor removed",
            old: "0001_a",
            allow: false,
            want: "tenant acme: delta 0001_a was removed but 0003_c, applied after it, stays; remove 0003_c too (its down part then runs first), or restore 0001_a",
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const got = chainProblem({ tenant: "acme", id: "0003_c", previous: c.old }, { tenant: "acme", id: "0003_c", previous: c.now }, c.allow);
            assert.strictEqual(got, c.want);
        });
    }
    it("names file, tenant and both checksums when an applied delta changed", () => {
        assert.strictEqual(
            checksumChangedMessage("deltas/0001_a.sql", "0001_a", "acme", "sha256:aa", "sha256:bb"),
            "deltas/0001_a.sql: delta 0001_a is applied to tenant acme with checksum sha256:aa, but the file now has sha256:bb; an applied delta must not change: undo the edit and put the change in a new delta",
        );
    });
});
