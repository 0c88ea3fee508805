#!/usr/bin/env bash
# The pull-request workflow's preview (.github/workflows/pull-request.yml), runnable anywhere:
#   bash scripts/with-env.sh bash scripts/pr-preview.sh --stack dev --out preview.md
# The branch's program and config, previewed against the stack in the team's backend
# (PULUMI_BACKEND_URL), so the report shows what merging the branch would change in the
# running cluster. Without a team backend it previews a new, empty local stack, and says
# that the report then shows the whole cluster being created.
set -euo pipefail
usage="usage: scripts/pr-preview.sh --stack STACK [--out FILE]"
stack='' out=preview.md
while [ $# -gt 0 ]; do
  case "$1" in
    --stack) stack=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --help) echo "$usage"; exit 0 ;;
    *) echo "$usage" >&2; exit 64 ;;
  esac
done
[ -n "$stack" ] || { echo "$usage" >&2; exit 64; }
if [ "${PULUMI_BACKEND_URL:-}" = "${HYPERSCALER_DEFAULT_BACKEND:-}" ]; then
  echo "pr-preview: no team backend (set PULUMI_BACKEND_URL): previewing a new local stack '$stack', so the report shows the whole cluster as new" >&2
  pulumi stack select "$stack" --create >/dev/null
elif ! pulumi stack ls --json | grep -q "\"name\": *\"\([^\"]*/\)\?$stack\""; then
  echo "pr-preview: the team backend has no stack '$stack': deploy it once from main (scripts/up.sh), or check PULUMI_BACKEND_URL" >&2
  exit 1
fi
exec tsx "$HYPERSCALER_REPO/scripts/preview-report.ts" --stack "$stack" --out "$out"
