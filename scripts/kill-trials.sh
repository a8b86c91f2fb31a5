#!/usr/bin/env bash
# The kill-trial matrix: 50 `pulumi up` runs killed with SIGKILL (the CLI or
# its provider) in every deployment phase or at a random moment, each
# recovered by the next `pulumi up` and destroyed, against the real engine
# and a real sshd. Prints one row per trial. Needs what scripts/test.sh
# installs (sshd, the engine via scripts/toolchain.sh) and root.
#   PULUMI_DELTA_KILL_TRIALS (50), PULUMI_DELTA_KILL_DELAY_MS (1000),
#   PULUMI_DELTA_KILL_LARGE_FILES (3), PULUMI_DELTA_KILL_SEED (random),
#   PULUMI_DELTA_KILL_MATRIX (file to write the matrix to as well)
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
npm run --silent build:test
npm run --silent build:plugin >/dev/null
bash scripts/toolchain.sh >/dev/null
export PULUMI_DELTA_KILL_TRIALS="${PULUMI_DELTA_KILL_TRIALS:-50}"
export PULUMI_DELTA_KILL_DELAY_MS="${PULUMI_DELTA_KILL_DELAY_MS:-1000}"
export PULUMI_DELTA_KILL_LARGE_FILES="${PULUMI_DELTA_KILL_LARGE_FILES:-3}"
exec npx mocha --reporter dot build/test/integration/killTrials.test.js
