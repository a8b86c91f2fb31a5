#!/usr/bin/env bash
# npm run build:plugin: bundles the plugin (sdk/plugin/main.ts and all it
# reaches, ssh2's pure-JS crypto included) into one file and packs it as
#   dist/plugin/pulumi-resource-delta-v<version>-linux-amd64.tar.gz
# which `pulumi plugin install resource delta <version> --file <tarball>`
# installs. Needs Node >= 20 where it runs; nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
version=$(node -p 'require("./package.json").version')
out=dist/plugin
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# ssh2's optional native parts (cpu-features, its .node binding) are left out: it falls back to JS.
# Bundles: the plugin, the Construct half it loads on first use (the Pulumi SDK, slow to load), and a worker.
bundle() {
    npx --no-install esbuild "$1" --bundle --platform=node --target=node20 --format=cjs --minify-syntax \
        --external:cpu-features --external:'*.node' --legal-comments=none --log-level=error \
        --outfile="$stage/$2"
}
bundle sdk/plugin/main.ts plugin.js
bundle sdk/plugin/server/constructEntry.ts construct.js
# Worker threads load their script by name from beside the bundle (large files are chunked on two threads).
bundle sdk/manifest/chunkWorker.ts chunkWorker.js
# The Pulumi SDK (used only to construct components) loads its vendored TypeScript from beside itself.
cp -r node_modules/@pulumi/pulumi/vendor "$stage/vendor"
cp provider/schema.json "$stage/schema.json"
node -e 'const fs=require("fs");fs.writeFileSync(process.argv[1],JSON.stringify({name:"pulumi-resource-delta",version:process.argv[2],private:true,engines:{node:">=20"}},null,2)+"\n")' "$stage/package.json" "$version"
cat > "$stage/pulumi-resource-delta" <<'SH'
#!/bin/sh
# pulumi-delta's provider plugin: a Node program (Node >= 20 on PATH). exec keeps the engine its parent.
exec node "$(dirname "$0")/plugin.js" "$@"
SH
chmod 755 "$stage/pulumi-resource-delta"
mkdir -p "$out"
tarball="$out/pulumi-resource-delta-v$version-linux-amd64.tar.gz"
tar -czf "$tarball" -C "$stage" --owner=0 --group=0 --sort=name .
echo "$tarball ($(du -k "$tarball" | cut -f1) KiB)"
