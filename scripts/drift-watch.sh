#!/usr/bin/env bash
# The scheduled drift watch (.github/workflows/drift-watch.yml), runnable anywhere:
#   bash scripts/drift-watch.sh --stack dev [--out drift.md]
# Changes nothing. Reports what differs from the stack: resources (pulumi refresh
# --preview-only), containers not running, SLURM nodes drained or down by hand, MUNGE keys
# that are not the stack's (scripts/drift-watch.ts). Exit 0: no drift; 2: drift; 1: it
# could not look (not deployed, refresh failed, controller not answering).
set -euo pipefail
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
cd "$HYPERSCALER_REPO"
exec tsx scripts/drift-watch.ts "$@"
