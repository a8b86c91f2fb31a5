#!/usr/bin/env bash
# The network-fault matrices: for each strategy (inPlace, releases), 50
# `pulumi up` runs (creates and updates) whose SSH connection a relay cuts
# after N bytes (N random within the byte range of each deployment part,
# seeded and printed), each recovered by the next `pulumi up` through a
# healthy connection and destroyed, against the real engine and a real sshd;
# with releases, a reader checks destination all the while. Prints one row
# per trial. Needs what scripts/test.sh installs (sshd, the engine via
# scripts/toolchain.sh) and root.
#   PULUMI_DELTA_FAULT_TRIALS (50 per strategy), PULUMI_DELTA_FAULT_SEED (random),
#   PULUMI_DELTA_FAULT_STRATEGIES (inPlace,releases),
#   PULUMI_DELTA_FAULT_MATRIX (file to write each matrix to as well; {strategy} in it is replaced)
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
npm run --silent build:test
npm run --silent build:plugin >/dev/null
bash scripts/toolchain.sh >/dev/null
export PULUMI_DELTA_FAULT_TRIALS="${PULUMI_DELTA_FAULT_TRIALS:-50}"
exec npx mocha --reporter dot build/test/integration/faultTrials.test.js
