import * as assert from "assert";
import { execFileSync } from "child_process";
import * as path from "path";
import { REPO } from "../helpers/pulumi";

/** The benchmark against rsync runs end to end (a smoke test: figures are printed, never asserted). */
describe("bench --quick (real sshd, real rsync)", function () {
    it("prints the table and a JSON line with S1-S5 for both tools", () => {
        const out = execFileSync("node", [path.join(REPO, "build", "bench", "index.js"), "--quick"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
        const last = JSON.parse(out.trim().split("\n").pop()!);
        assert.strictEqual(last.bench, "rsync-compare");
        assert.deepStrictEqual(
            last.rows.map((r: { scenario: string }) => r.scenario.slice(0, 2)),
            ["S1", "S2", "S3", "S4", "S5"],
        );
        for (const r of last.rows) for (const k of ["rsync s", "pulumi-delta s", "time ratio", "rsync bytes", "pulumi-delta bytes"]) assert.strictEqual(typeof r[k], "number", `${r.scenario}: ${k}`);
        // Both tools left the same tree behind (the bench itself compares them and fails otherwise).
        process.stdout.write(out.split("\n").filter((l) => l.startsWith("│") || l.startsWith("┌") || l.startsWith("└")).join("\n") + "\n");
    });
});
