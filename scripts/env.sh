# shellcheck shell=bash
# Source this file from the repo root to make plain `pulumi` commands work here:
#   source scripts/env.sh && pulumi stack ls
# It puts the locally built CLI on PATH, points Pulumi at the repo's file backend and
# plugin cache, turns off every download, and selects the Docker engine.
# shellcheck source=lib/paths.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/paths.sh"

export HYPERSCALER_REPO HYPERSCALER_CACHE HYPERSCALER_BASE_IMAGE HYPERSCALER_DEV_PASSPHRASE
export PATH="$HYPERSCALER_REPO/scripts/bin:$HYPERSCALER_ENGINE_DIR/bin:$HYPERSCALER_REPO/node_modules/.bin:$PATH"
export PULUMI_HOME="$HYPERSCALER_PULUMI_HOME"
# Your own PULUMI_BACKEND_URL wins; one set by env.sh (of this or another checkout) is reset.
if [ -z "${PULUMI_BACKEND_URL:-}" ] || [ "$PULUMI_BACKEND_URL" = "${HYPERSCALER_DEFAULT_BACKEND:-}" ]; then
  export PULUMI_BACKEND_URL="file://$HYPERSCALER_STATE_DIR"
  export HYPERSCALER_DEFAULT_BACKEND="$PULUMI_BACKEND_URL"
fi
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=false
export DOCKER_HOST="${DOCKER_HOST:-unix:///var/run/docker.sock}"
# The published dev passphrase reaches the `dev` stack only: scripts/bin/pulumi gives it to
# dev and refuses it for every other stack, which needs its own (PULUMI_CONFIG_PASSPHRASE or _FILE).
mkdir -p "$HYPERSCALER_STATE_DIR" "$PULUMI_HOME"
