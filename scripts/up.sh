#!/usr/bin/env bash
# scripts/up.sh --stack STACK --reason "why" [more pulumi up flags]
# `pulumi up` that records who ran it and why in the update message, for the audit report
# (scripts/audit.ts): the file backend records the git author, not the person.
# Who: $HYPERSCALER_OPERATOR, else git's user.email, else the login name; plus the host.
set -euo pipefail
usage='usage: scripts/up.sh --stack STACK --reason "why" [pulumi up flags]'
stack="" reason=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --help) echo "$usage"; exit 0 ;;
    --stack) stack=$2; shift 2 ;;
    --reason) reason=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
[ -n "$stack" ] && [ -n "$reason" ] || { echo "$usage" >&2; exit 64; }
who=${HYPERSCALER_OPERATOR:-$(git config user.email 2>/dev/null || id -un)}
exec pulumi up --stack "$stack" --message "who=${who}@$(hostname); reason=${reason}" "${args[@]}"
