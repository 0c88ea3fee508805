#!/usr/bin/env bash
# Builds one Pulumi plugin from the source archives in $HYPERSCALER_PLUGIN_SOURCES (see
# ../shared/third_party/SOURCES.md), with its Go dependencies from the module proxy. The
# archives are build inputs: extracted into a scratch folder, built, and thrown away.
#
#   scripts/toolchain/build-from-source.sh TARGET OUT_BINARY
#   TARGET: language-nodejs | command | random | docker
#
# Which archives a target needs, and their sha256, are in scripts/toolchain/sources.txt;
# a changed or missing archive fails here, before anything is built.
set -euo pipefail
if [ "${1:-}" = --help ] || [ $# -ne 2 ]; then
  echo "usage: scripts/toolchain/build-from-source.sh language-nodejs|command|random|docker OUT_BINARY"; [ "${1:-}" = --help ]; exit; fi
target=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/paths.sh
source "$here/../lib/paths.sh"

# archives_for TARGET: the archives one target is built from.
archives_for() {
  local list; list=$(awk -v t="$1" '$1 == t { print $2 }' "$here/sources.txt")
  [ -n "$list" ] || { echo "unknown target '$1' (one of: $(awk '!/^#/ { print $1 }' "$here/sources.txt" | sort -u | xargs))" >&2; return 2; }
  echo "$list"
}

# verify_archives ARCHIVE...: each one present and matching its pinned sha256.
verify_archives() {
  local a want got
  [ -d "$HYPERSCALER_PLUGIN_SOURCES" ] || {
    echo "plugin sources folder '$HYPERSCALER_PLUGIN_SOURCES' does not exist: set HYPERSCALER_PLUGIN_SOURCES to the folder holding the archives of shared/third_party"; return 1; }
  for a in "$@"; do
    want=$(awk -v f="$a" '$2 == f { print $3 }' "$here/sources.txt")
    [ -f "$HYPERSCALER_PLUGIN_SOURCES/$a" ] || { echo "$a is missing from $HYPERSCALER_PLUGIN_SOURCES"; return 1; }
    got=$(sha256sum "$HYPERSCALER_PLUGIN_SOURCES/$a" | cut -c1-64)
    [ "$got" = "$want" ] || { echo "$HYPERSCALER_PLUGIN_SOURCES/$a has sha256 $got, pinned $want: refusing a changed archive"; return 1; }
  done
}

# The bridged providers embed their schema with the release's version set (what each
# repository's generate.go does before a release build).
embed_schema() {
  node -e 'const fs = require("fs"); const s = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    s.version = process.argv[3]; fs.writeFileSync(process.argv[2], JSON.stringify(s));' "$1/schema.json" "$1/schema-embed.json" "$2"
}

archives=$(archives_for "$target")
# shellcheck disable=SC2086 # archive names have no spaces
verify_archives $archives
work=$(mktemp -d "${TMPDIR:-/tmp}/hyperscaler-build-$target.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
for a in $archives; do tar -xzf "$HYPERSCALER_PLUGIN_SOURCES/$a" -C "$work"; done

# The proxy has no checksum-database record for some pulumi and terraform-provider
# versions; -mod=mod lets the edited go.mod resolve its new requirements.
export GOFLAGS="-mod=mod -buildvcs=false" GONOSUMDB=github.com/pulumi,github.com/terraform-providers
ldflags() { echo "-s -w -X $1"; }
out=$(realpath -m "$out") built="$work/pulumi-plugin"

case "$target" in
  language-nodejs)
    cd "$work/pulumi-language-nodejs-$HYPERSCALER_PULUMI_VERSION/sdk/nodejs/cmd/pulumi-language-nodejs"
    # Upstream builds it inside the monorepo; here pkg and sdk come from the proxy at the same release.
    go mod edit -dropreplace github.com/pulumi/pulumi/pkg/v3 -dropreplace github.com/pulumi/pulumi/sdk/v3 \
      -require "github.com/pulumi/pulumi/pkg/v3@v$HYPERSCALER_PULUMI_VERSION" -require "github.com/pulumi/pulumi/sdk/v3@v$HYPERSCALER_PULUMI_VERSION"
    go build -trimpath -ldflags "$(ldflags "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$HYPERSCALER_PULUMI_VERSION")" -o "$built" .
    ;;
  command)
    cd "$work/pulumi-command-1.2.1/provider"
    go build -trimpath -ldflags "$(ldflags github.com/pulumi/pulumi-command/provider/pkg/version.Version=1.2.1)" -o "$built" ./cmd/pulumi-resource-command
    ;;
  random)
    cd "$work/pulumi-random-4.21.1/provider"
    # pulumi-terraform-bridge v3.135.0 asks for two pseudo-versions the proxy refuses: use their archives.
    go mod edit -replace "github.com/pulumi/pulumi-yaml=$work/pulumi-yaml-294c561f47f4" \
      -replace "github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3=$work/pulumi-language-dotnet-6a2eb2585b50/pulumi-language-dotnet"
    embed_schema cmd/pulumi-resource-random 4.21.1
    go build -trimpath -ldflags "$(ldflags github.com/pulumi/pulumi-random/provider/v4/pkg/version.Version=4.21.1)" -o "$built" ./cmd/pulumi-resource-random
    ;;
  docker)
    cd "$work/pulumi-docker-5.0.0"
    mv "$work/terraform-provider-docker-619686d" upstream
    for p in patches/*.patch; do (cd upstream && patch -p1 --quiet <"../$p"); done
    cd provider
    # v5.0.0 pins pulumi-terraform-bridge v3.126.0, which the proxy refuses; v3.133.0 is the nearest it serves.
    go mod edit -require github.com/pulumi/pulumi-terraform-bridge/v3@v3.133.0
    embed_schema cmd/pulumi-resource-docker 5.0.0
    go build -trimpath -ldflags "$(ldflags github.com/pulumi/pulumi-docker/provider/v5/pkg/version.Version=5.0.0)" -o "$built" ./cmd/pulumi-resource-docker
    ;;
esac
# Only a finished build reaches OUT.
mkdir -p "$(dirname "$out")" && mv "$built" "$out"
echo "built $target from" $archives "-> $out"
