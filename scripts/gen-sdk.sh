#!/usr/bin/env bash
# Regenerates the Go, Python and .NET SDKs under sdk/ (sdk/go/delta with
# sdk/go.mod and go.sum, sdk/python, sdk/dotnet) from provider/schema.json,
# with the version from package.json. The generated files are committed and
# never edited by hand.
#
#   scripts/gen-sdk.sh           regenerate in place
#   scripts/gen-sdk.sh --check   regenerate into a temporary folder and fail,
#                                naming each file, if the committed SDKs differ
#
# The generators are two small Go programs (scripts/codegen, and
# scripts/codegen/dotnet for .NET, whose generator only an older pkg module
# has); their binaries are cached per source and Go version, so only the first
# run builds them (about a minute each on 2 cores). Needs Go >= 1.25 and Node.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "gen-sdk: $*" >&2; }

check=""
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) say "unknown argument ${1}; use no argument to regenerate, or --check to compare"; exit 2 ;;
esac

command -v go >/dev/null 2>&1 || { say "needs Go >= 1.25 to build the generators (https://go.dev/dl)"; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0
CACHE="${PULUMI_DELTA_CODEGEN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-delta/codegen}"
version="$(node -p 'require("./package.json").version')"

# Usage: tool <module dir> <name>; prints the cached binary, building it when its sources changed.
tool() {
  local key bin
  key="$(cd "$1" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)-$(go env GOVERSION)"
  bin="$CACHE/$2.$key"
  if [ ! -x "$bin" ]; then
    local t0=$(date +%s)
    say "building $2 from $1 (once per source change)"
    mkdir -p "$CACHE"
    (cd "$1" && go build -trimpath -o "$bin.tmp.$$" .) >&2
    # Binaries of older sources are tens of megabytes each: keep only this one.
    find "$CACHE" -maxdepth 1 -name "$2.*" ! -name "$2.$key*" -delete
    mv -f "$bin.tmp.$$" "$bin"
    say "  built in $(( $(date +%s) - t0 ))s"
  fi
  echo "$bin"
}

codegen="$(tool scripts/codegen codegen)"
codegen_dotnet="$(tool scripts/codegen/dotnet codegen-dotnet)"

# Writes every SDK into $1 (which holds go.mod, go/, python/, dotnet/).
generate() {
  "$codegen" -schema provider/schema.json -version "$version" -out "$1"
  "$codegen_dotnet" -schema provider/schema.json -version "$version" -logo provider/logo.png -out "$1"
  # The indirect requirements and go.sum come from the Go SDK's own imports.
  (cd "$1" && GOFLAGS=-mod=mod go mod tidy) >&2
}

GENERATED="go.mod go.sum go python dotnet"
if [ -z "$check" ]; then
  generate sdk
  say "wrote sdk/{go.mod,go.sum,go/delta,python,dotnet} (version $version) from provider/schema.json"
  exit 0
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/pulumi-delta-gen-sdk.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
generate "$tmp"
# Build output and byte-compiled Python in the working tree are not part of the SDKs.
stale="$(
  for p in $GENERATED; do
    LC_ALL=C diff -rq -x __pycache__ -x '*.pyc' -x bin -x obj "$tmp/$p" "sdk/$p" 2>&1 || true
  done | sed -e "s#^Files $tmp/\([^ ]*\) and sdk/[^ ]* differ\$#  sdk/\1 (differs)#" \
             -e "s#^Only in $tmp/\(.*\): \(.*\)\$#  sdk/\1/\2 (missing)#" \
             -e "s#^Only in $tmp: \(.*\)\$#  sdk/\1 (missing)#" \
             -e "s#^Only in sdk/\(.*\): \(.*\)\$#  sdk/\1/\2 (not generated)#" \
             -e "s#^diff: $tmp/\([^:]*\): No such file or directory\$#  sdk/\1 (not generated)#" \
             -e "s#^diff: sdk/\([^:]*\): No such file or directory\$#  sdk/\1 (missing)#"
)"
if [ -n "$stale" ]; then
  say "the committed SDKs are out of date with provider/schema.json (version $version):"
  echo "$stale" >&2
  say "run scripts/gen-sdk.sh and commit the result"
  exit 1
fi
say "sdk/{go.mod,go.sum,go/delta,python,dotnet} are up to date with provider/schema.json (version $version)"
