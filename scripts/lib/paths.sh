# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# Where hyperscaler keeps what it builds and runs: one place, sourced by setup.sh and env.sh.
# Everything heavy lives outside the work tree, keyed by version, so a clean clone reuses it.
# Always the checkout these scripts are in: a value left by another checkout's env.sh must not leak in.
HYPERSCALER_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HYPERSCALER_CACHE=${HYPERSCALER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hyperscaler}

# The engine version is the @pulumi/pulumi pin in package.json: the CLI must match it.
HYPERSCALER_PULUMI_VERSION=$(sed -n 's/.*"@pulumi\/pulumi": *"\([0-9.]*\)".*/\1/p' "$HYPERSCALER_REPO/package.json")
# hyperscaler_source_key TARGET: what one of the project's own plugins (providers/TARGET:
# language-nodejs, random, command, docker) is built from, as a short cache key: its
# sources and the module files and shared code it builds with.
# providers/ is read beside these scripts' real location: a test's project copy links
# scripts/ from the checkout and need not link providers/ too.
HYPERSCALER_PROVIDERS_DIR=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/providers
hyperscaler_source_key() {
  local dir="$HYPERSCALER_PROVIDERS_DIR" files
  if [ ! -d "$dir" ]; then
    echo "hyperscaler: $dir is missing: the plugins are built from it; use a whole checkout of the repository" >&2
    return 1
  fi
  if [ "$1" = docker ]; then files=("$dir/docker")
  else files=("$dir/go.mod" "$dir/go.sum" "$dir/internal" "$dir/$1"); fi
  { find "${files[@]}" -type f -print0 | sort -z | xargs -0 sha256sum | sed "s#$dir/##"; } | sha256sum | cut -c1-12
}
# The engine key covers the CLI's wrapper module and the language host's sources, so
# editing either rebuilds.
HYPERSCALER_ENGINE_KEY=$( { cat "$HYPERSCALER_REPO"/scripts/toolchain/pulumi-cli/go.mod "$HYPERSCALER_REPO"/scripts/toolchain/pulumi-cli/go.sum; hyperscaler_source_key language-nodejs; } | sha256sum | cut -c1-12)
HYPERSCALER_ENGINE_DIR="$HYPERSCALER_CACHE/engine/pulumi-v$HYPERSCALER_PULUMI_VERSION-$HYPERSCALER_ENGINE_KEY"
HYPERSCALER_PULUMI_HOME="$HYPERSCALER_CACHE/pulumi-home"
HYPERSCALER_STATE_DIR="$HYPERSCALER_REPO/.pulumi-state"

# The local base image every role image derives from (debootstrap + docker import, or a tagged pull).
# Debian 13 (trixie): SLURM 24.11, PostgreSQL 17, MariaDB 11.8.
HYPERSCALER_DEBIAN_SUITE=trixie
HYPERSCALER_BASE_IMAGE="hyperscaler/debian-base:$HYPERSCALER_DEBIAN_SUITE"
# VictoriaLogs, the cluster's log store (images/logs): its Go module's version, and where
# setup puts its binary for the image's build (a copy of the cache's, ignored by git).
HYPERSCALER_VICTORIALOGS_VERSION=v1.52.2
HYPERSCALER_VICTORIALOGS_BIN="$HYPERSCALER_REPO/images/logs/bin/victoria-logs"
# Perses, the dashboard server (images/dashboards): its Go module's version, and where setup puts
# the server, percli and the plugins for the image's build (ignored by git).
HYPERSCALER_PERSES_VERSION=v0.52.0
HYPERSCALER_PERSES_DIR="$HYPERSCALER_REPO/images/dashboards/build"
HYPERSCALER_DEV_PASSPHRASE="hyperscaler-dev-only"
