#!/usr/bin/env bash
# The main job (README): `pulumi up` of the root project (examples/quickstart)
# on an embedded default — a file:// backend under .pulumi-state/ and a local
# target under .demo-target/ — then a second preview that must show no changes.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "demo: npm ci"
npm ci --no-audit --no-fund --loglevel=error
# The program uses the library as users get it: packed, then installed; the
# plugin it asks for, from the tarball `npm run build:plugin` makes.
npm run --silent build
plugin="$(bash scripts/build-plugin.sh | cut -d' ' -f1)"
pack_dir="$(mktemp -d)"
tgz="$pack_dir/$(npm pack --silent --pack-destination "$pack_dir" | tail -n 1)"
sdk_version="$(node -p 'require("@pulumi/pulumi/package.json").version')"
(cd examples/quickstart && npm install --no-audit --no-fund --no-save --loglevel=error "$tgz" "@pulumi/pulumi@$sdk_version")
rm -rf "$pack_dir"
root="$(bash scripts/toolchain.sh)"
export PATH="$root/bin:$PATH"
mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-pulumi-delta-demo}"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
stack="${PULUMI_DELTA_DEMO_STACK:-demo}"
version="$(node -p 'require("./package.json").version')"
pulumi plugin install resource delta "$version" --file "$plugin" >/dev/null
pulumi stack select --create "$stack" --non-interactive >/dev/null
if [ "${1:-}" = "destroy" ]; then
  echo "demo: pulumi destroy (puts the target back as it was)"
  exec pulumi destroy --yes --non-interactive --stack "$stack"
fi
echo "demo: pulumi up (stack $stack, backend $PULUMI_BACKEND_URL)"
pulumi up --yes --non-interactive --stack "$stack"
echo "demo: second run, which must preview no changes"
pulumi preview --expect-no-changes --non-interactive --stack "$stack"
echo "demo: deployed to $PWD/.demo-target/site — edit examples/quickstart/site and run 'npm run demo' again; 'npm run demo -- destroy' puts it back"
