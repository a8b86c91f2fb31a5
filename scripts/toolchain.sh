#!/usr/bin/env bash
# Puts a real Pulumi engine on hand: the `pulumi` CLI, the Node language host and
# the dynamic-provider shim, all in one bin/ folder. Prints that folder's parent
# (the "root" the Automation API takes) on the last line of stdout.
#
# Preference: a `pulumi` already on PATH that has a Node language host beside it,
# then the per-machine cache, then a build from Go modules (6-9 minutes cold).
# Progress goes to stderr so callers can capture the root from stdout.
set -euo pipefail

CLI_VERSION="${PULUMI_DELTA_CLI_VERSION:-v3.259.0}"
# The Node language host lived inside sdk/v3 until v3.68.0; its own module is not
# served by the Go proxy, so this is the newest buildable one.
LANGHOST_VERSION="v3.68.0"
CACHE_ROOT="${PULUMI_DELTA_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-delta/toolchain}"
ROOT="$CACHE_ROOT/$CLI_VERSION"
BIN="$ROOT/bin"

say() { echo "toolchain: $*" >&2; }

write_shim() {
  # The engine launches dynamic providers as the plugin `pulumi-nodejs`; the
  # provider code lives in the program's own @pulumi/pulumi, so resolve it there.
  cat > "$1/pulumi-resource-pulumi-nodejs" <<'SHIM'
#!/bin/sh
exec node "$(node -e "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))")" "$@"
SHIM
  chmod 0755 "$1/pulumi-resource-pulumi-nodejs"
}

if [ -z "${PULUMI_DELTA_FORCE_BUILD:-}" ] && command -v pulumi >/dev/null 2>&1; then
  onpath="$(dirname "$(command -v pulumi)")"
  if [ -x "$onpath/pulumi-language-nodejs" ] || command -v pulumi-language-nodejs >/dev/null 2>&1; then
    if [ "$onpath" != "$BIN" ]; then
      say "using pulumi on PATH: $(command -v pulumi) ($(pulumi version 2>/dev/null || echo unknown))"
      if [ -x "$onpath/pulumi-resource-pulumi-nodejs" ]; then dirname "$onpath"; exit 0; fi
      # Pulumi's own installer ships the shim; a hand-made bin/ may not.
      mkdir -p "$BIN"; ln -sf "$onpath/pulumi" "$BIN/pulumi"
      ln -sf "$(command -v pulumi-language-nodejs || echo "$onpath/pulumi-language-nodejs")" "$BIN/pulumi-language-nodejs"
      write_shim "$BIN"; echo "$ROOT"; exit 0
    fi
  fi
fi

if [ -x "$BIN/pulumi" ] && [ -x "$BIN/pulumi-language-nodejs" ] && [ -x "$BIN/pulumi-resource-pulumi-nodejs" ]; then
  say "using cached $BIN ($("$BIN/pulumi" version))"
  echo "$ROOT"; exit 0
fi

command -v go >/dev/null 2>&1 || { say "no pulumi on PATH and no Go to build one: install Go >= 1.25 (https://go.dev/dl) or the Pulumi CLI"; exit 1; }
gover="$(go env GOVERSION | sed 's/^go//')"
case "$gover" in 1.2[5-9]*|1.[3-9]*) ;; *) say "Go $gover is too old: the Pulumi CLI $CLI_VERSION needs Go >= 1.25"; exit 1;; esac

start=$(date +%s)
work="$(mktemp -d "${TMPDIR:-/tmp}/pulumi-delta-toolchain.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$work/cli" "$work/lang" "$work/bin"

say "building pulumi CLI $CLI_VERSION from Go modules in $work/cli (6-9 minutes cold on 2 cores)"
(
  cd "$work/cli"
  go mod init local/pulumibuild >/dev/null 2>&1
  # pkg/go.mod replaces atotto/clipboard; a wrapper module must repeat it.
  go mod edit -replace=github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e
  say "  resolving modules"
  go get -tool "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$CLI_VERSION" >&2
  go get "github.com/pulumi/pulumi/sdk/v3@$CLI_VERSION" >&2
  go mod tidy >&2
  say "  compiling"
  go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$CLI_VERSION" \
    -o "$work/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
)

say "building Node language host from sdk/v3 $LANGHOST_VERSION"
(
  cd "$work/lang"
  go mod init local/langhostbuild >/dev/null 2>&1
  go get -tool "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs@$LANGHOST_VERSION" >&2
  go mod tidy >&2
  go build -trimpath -ldflags "-s -w" -o "$work/bin/pulumi-language-nodejs" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs >&2
)

write_shim "$work/bin"
mkdir -p "$ROOT"
# Move into place in one rename so a concurrent or interrupted run never sees half a bin/.
rm -rf "$ROOT/bin.new"; mv "$work/bin" "$ROOT/bin.new"; rm -rf "$BIN"; mv "$ROOT/bin.new" "$BIN"
say "built in $(( $(date +%s) - start ))s: $BIN ($("$BIN/pulumi" version))"
echo "$ROOT"
