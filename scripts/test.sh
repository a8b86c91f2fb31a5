#!/usr/bin/env bash
# The test command (README): installs what the tests need that npm cannot
# (OpenSSH server; the Pulumi engine via scripts/toolchain.sh), builds, and
# runs unit then integration tests. Last line: "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
summary="$(mktemp)"
trap 'if [ -s "$summary" ]; then cat "$summary"; else echo "0 passed, 1 failed, 0 skipped"; fi; rm -f "$summary"' EXIT

bash scripts/host-deps.sh
echo "test: npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "test: build"
npm run --silent build
npm run --silent build:test
npm run --silent build:plugin >/dev/null
bash scripts/toolchain.sh >/dev/null

export PULUMI_DELTA_SUMMARY_FILE="$summary"
# A reporter that prints the counts; unit tests first (fast), then the real engine and servers.
set +e
npx mocha ${MOCHA_ARGS:-} 'build/test/unit/**/*.test.js' 'build/test/integration/**/*.test.js'
status=$?
set -e
exit $status
