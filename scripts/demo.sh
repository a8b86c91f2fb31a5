#!/usr/bin/env bash
# The main job (README): `pulumi up` of the root project (examples/quickstart)
# on an embedded default — a file:// backend under .pulumi-state/ and a local
# target under .demo-target/ — then a second preview that must show no changes.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "demo: npm ci"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
root="$(bash scripts/toolchain.sh)"
export PATH="$root/bin:$PATH"
mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-pulumi-delta-demo}"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
stack="${PULUMI_DELTA_DEMO_STACK:-demo}"
pulumi stack select --create "$stack" --non-interactive >/dev/null
echo "demo: pulumi up (stack $stack, backend $PULUMI_BACKEND_URL)"
pulumi up --yes --non-interactive --stack "$stack"
echo "demo: second run, which must preview no changes"
pulumi preview --expect-no-changes --non-interactive --stack "$stack"
echo "demo: deployed to $PWD/.demo-target/site — edit examples/quickstart/site and run 'npm run demo' again; 'pulumi destroy' (same environment) puts it back"
