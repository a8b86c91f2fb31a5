import * as assert from "assert";
import { DEFAULT_PROGRESS_INTERVAL_MS, progressIntervalMs, PROGRESS_INTERVAL_ENV } from "../../sdk/apply/progress";

describe("progress interval", () => {
    const cases: [string | undefined, number][] = [
        [undefined, DEFAULT_PROGRESS_INTERVAL_MS],
        ["250", 250],
        [" 1 ", 1],
        ["0", DEFAULT_PROGRESS_INTERVAL_MS],
        ["-5", DEFAULT_PROGRESS_INTERVAL_MS],
        ["1.5", DEFAULT_PROGRESS_INTERVAL_MS],
        ["fast", DEFAULT_PROGRESS_INTERVAL_MS],
        ["", DEFAULT_PROGRESS_INTERVAL_MS],
        ["99999999999999999999", DEFAULT_PROGRESS_INTERVAL_MS],
    ];
    for (const [value, expected] of cases) {
        it(`${PROGRESS_INTERVAL_ENV}=${JSON.stringify(value)} → ${expected} ms`, () => assert.strictEqual(progressIntervalMs({ [PROGRESS_INTERVAL_ENV]: value }), expected));
    }
    it("defaults to 3 s", () => assert.strictEqual(DEFAULT_PROGRESS_INTERVAL_MS, 3000));
});
