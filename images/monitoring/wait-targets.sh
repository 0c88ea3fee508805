#!/bin/sh
# hyperscaler-wait-targets JOB COUNT [TIMEOUT_SEC]
# Waits until Prometheus scrapes exactly COUNT targets of JOB and every one is up; prints
# the ones that are not when it gives up. The proof that monitoring follows the cluster.
set -eu
job=$1 want=$2 timeout=${3:-120}
waited=0
while :; do
  targets=$(hyperscaler-prometheus-api "/api/v1/targets?state=active" 2>/dev/null \
    | grep -o "\"scrapePool\":\"$job\"[^}]*\"health\":\"[a-z]*\"" || true)
  total=$(printf '%s' "$targets" | grep -c '"health"' || true)
  up=$(printf '%s' "$targets" | grep -c '"health":"up"' || true)
  if [ "$total" -eq "$want" ] && [ "$up" -eq "$want" ]; then echo "$job: $up/$want targets up after ${waited}s"; exit 0; fi
  if [ "$waited" -ge "$timeout" ]; then
    echo "$job: $up of $want targets up after ${timeout}s ($total scraped); Prometheus's targets:" >&2
    hyperscaler-prometheus-api "/api/v1/targets?state=active" >&2 || true
    exit 1
  fi
  sleep 2; waited=$((waited + 2))
done
