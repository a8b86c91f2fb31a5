#!/usr/bin/env bash
# Puts a real Pulumi engine on hand: the `pulumi` CLI, the Node, YAML and Go
# language hosts and the dynamic-provider shim, all in one bin/ folder (the
# engine looks for language hosts beside its own binary first; elsewhere it
# warns "using … from $PATH"). Prints that folder's parent (the "root" the
# Automation API takes) on the last line of stdout.
#
# Preference: a `pulumi` already on PATH that has the language hosts beside it
# (Pulumi's installer ships them), then the per-machine cache, then a build from
# Go modules of whatever the cache lacks (8-12 minutes cold on 2 cores).
# Progress goes to stderr so callers can capture the root from stdout.
set -euo pipefail

CLI_VERSION="${PULUMI_DELTA_CLI_VERSION:-v3.259.0}"
# The Node language host lived inside sdk/v3 until v3.68.0; its own module is not
# served by the Go proxy, so this is the newest buildable one.
LANGHOST_VERSION="v3.68.0"
# pulumi-yaml pins its own pkg/sdk (forcing the CLI's version does not compile).
YAMLHOST_VERSION="v1.25.0"
# The Go language host lived inside sdk/v3 until v3.64.0 (gone by v3.67.0); its
# own module is not served either.
GOHOST_VERSION="v3.64.0"
CLIPBOARD_REPLACE="github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e"
CACHE_ROOT="${PULUMI_DELTA_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-delta/toolchain}"
ROOT="$CACHE_ROOT/$CLI_VERSION"
BIN="$ROOT/bin"
SHIM="pulumi-resource-pulumi-nodejs"
# Installed in this order, `pulumi` last: whoever waits for bin/pulumi finds the rest there.
ALL="$SHIM pulumi-language-nodejs pulumi-language-yaml pulumi-language-go pulumi"
HOSTS="pulumi-language-nodejs pulumi-language-yaml pulumi-language-go"

say() { echo "toolchain: $*" >&2; }

write_shim() {
  # The engine launches dynamic providers as the plugin `pulumi-nodejs`; the
  # provider code lives in the program's own @pulumi/pulumi, so resolve it there.
  cat > "$1/$SHIM" <<'SHIM'
#!/bin/sh
exec node "$(node -e "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))")" "$@"
SHIM
  chmod 0755 "$1/$SHIM"
}

if [ -z "${PULUMI_DELTA_FORCE_BUILD:-}" ] && command -v pulumi >/dev/null 2>&1; then
  onpath="$(dirname "$(command -v pulumi)")"
  lacking=""
  for h in $HOSTS; do
    [ -x "$onpath/$h" ] || command -v "$h" >/dev/null 2>&1 || lacking="$lacking $h"
  done
  if [ "$onpath" != "$BIN" ] && [ -n "$lacking" ]; then
    say "pulumi on PATH ($(command -v pulumi)) has no$lacking beside it; using the cache instead"
  elif [ "$onpath" != "$BIN" ]; then
    say "using pulumi on PATH: $(command -v pulumi) ($(pulumi version 2>/dev/null || echo unknown))"
    if [ -x "$onpath/$SHIM" ]; then dirname "$onpath"; exit 0; fi
    # Pulumi's own installer ships the shim; a hand-made bin/ may not.
    mkdir -p "$BIN"; ln -sf "$onpath/pulumi" "$BIN/pulumi"
    for h in $HOSTS; do ln -sf "$(command -v "$h" || echo "$onpath/$h")" "$BIN/$h"; done
    write_shim "$BIN"; echo "$ROOT"; exit 0
  fi
fi

missing=""
for f in $ALL; do [ -x "$BIN/$f" ] || missing="$missing $f"; done
if [ -z "$missing" ]; then
  say "using cached $BIN ($("$BIN/pulumi" version))"
  echo "$ROOT"; exit 0
fi
say "building into $BIN:$missing"

needs() { case " $missing " in *" $1 "*) return 0;; *) return 1;; esac; }

if [ "$missing" != " $SHIM" ]; then
  command -v go >/dev/null 2>&1 || { say "no pulumi on PATH and no Go to build one: install Go >= 1.25 (https://go.dev/dl) or the Pulumi CLI"; exit 1; }
  gover="$(go env GOVERSION | sed 's/^go//')"
  case "$gover" in 1.2[5-9]*|1.[3-9]*) ;; *) say "Go $gover is too old: the Pulumi CLI $CLI_VERSION needs Go >= 1.25"; exit 1;; esac
fi

start=$(date +%s)
work="$(mktemp -d "${TMPDIR:-/tmp}/pulumi-delta-toolchain.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$work/bin"

# Each binary is built in a throwaway wrapper module of its own, so that each
# keeps the pulumi/sdk versions its release pins. Usage: wrapper <dir> <tool@version>
wrapper() {
  mkdir -p "$work/$1"; cd "$work/$1"
  go mod init "local/$1" >/dev/null 2>&1
  # pkg/go.mod replaces atotto/clipboard; a wrapper module must repeat it.
  go mod edit -replace="$CLIPBOARD_REPLACE"
  say "  resolving modules"
  go get -tool "$2" >&2
}

# Usage: timed <binary> <build function>
timed() {
  local t0=$(date +%s)
  "$2"
  say "  $1 built in $(( $(date +%s) - t0 ))s"
}

build_cli() (
  say "building pulumi CLI $CLI_VERSION from Go modules (6-9 minutes cold on 2 cores)"
  wrapper cli "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$CLI_VERSION"
  go get "github.com/pulumi/pulumi/sdk/v3@$CLI_VERSION" >&2
  go mod tidy >&2
  say "  compiling"
  go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$CLI_VERSION" \
    -o "$work/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
)

build_nodejs_host() (
  say "building Node language host from sdk/v3 $LANGHOST_VERSION"
  wrapper nodehost "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs@$LANGHOST_VERSION"
  go mod tidy >&2
  say "  compiling"
  go build -trimpath -ldflags "-s -w" -o "$work/bin/pulumi-language-nodejs" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs >&2
)

build_yaml_host() (
  say "building YAML language host from pulumi-yaml $YAMLHOST_VERSION (about 2 minutes cold)"
  wrapper yamlhost "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$YAMLHOST_VERSION"
  go mod tidy >&2
  say "  compiling"
  go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=$YAMLHOST_VERSION" \
    -o "$work/bin/pulumi-language-yaml" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml >&2
)

build_go_host() (
  say "building Go language host from sdk/v3 $GOHOST_VERSION (about 1 minute cold)"
  wrapper gohost "github.com/pulumi/pulumi/sdk/v3/go/pulumi-language-go@$GOHOST_VERSION"
  go mod tidy >&2
  say "  compiling"
  go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$GOHOST_VERSION" \
    -o "$work/bin/pulumi-language-go" github.com/pulumi/pulumi/sdk/v3/go/pulumi-language-go >&2
)

needs pulumi && timed pulumi build_cli
needs pulumi-language-nodejs && timed pulumi-language-nodejs build_nodejs_host
needs pulumi-language-yaml && timed pulumi-language-yaml build_yaml_host
needs pulumi-language-go && timed pulumi-language-go build_go_host
needs "$SHIM" && write_shim "$work/bin"

mkdir -p "$BIN"
# One file at a time, each by a rename inside bin/ (so a copy from another
# filesystem is never seen half-written); others may be using the binaries
# already there, which stay untouched.
for f in $ALL; do
  [ -e "$work/bin/$f" ] || continue
  cp "$work/bin/$f" "$BIN/.$f.new.$$"
  mv -f "$BIN/.$f.new.$$" "$BIN/$f"
done
say "built$missing in $(( $(date +%s) - start ))s: $BIN ($("$BIN/pulumi" version))"
echo "$ROOT"
