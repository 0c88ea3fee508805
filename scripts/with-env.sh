#!/usr/bin/env bash
# Run one command with scripts/env.sh applied: `bash scripts/with-env.sh pulumi preview --stack dev`.
set -euo pipefail
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
cd "$HYPERSCALER_REPO"
exec "$@"
