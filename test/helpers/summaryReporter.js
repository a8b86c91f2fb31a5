// Mocha's spec output, then one plain line CI reads: "N passed, N failed, N skipped".
const Mocha = require("mocha");

class SummaryReporter extends Mocha.reporters.Spec {
    constructor(runner, options) {
        super(runner, options);
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
            const s = this.stats;
            const line = `${s.passes} passed, ${s.failures} failed, ${s.pending} skipped`;
            // Under scripts/test.sh the script prints it last; run alone, print it here.
            if (process.env.PULUMI_DELTA_SUMMARY_FILE) require("fs").writeFileSync(process.env.PULUMI_DELTA_SUMMARY_FILE, line + "\n");
            else process.on("exit", () => console.log(line));
        });
    }
}

module.exports = SummaryReporter;
