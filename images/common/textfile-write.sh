#!/bin/sh
# hyperscaler-textfile NAME < metrics
# Publishes metrics for the node exporter's textfile collector atomically (temp file +
# rename in the same directory), so a scrape never sees half a file.
set -eu
dir=${HYPERSCALER_METRICS_DIR:-/var/lib/hyperscaler/metrics}
mkdir -p "$dir"
tmp=$(mktemp "$dir/.$1.XXXXXX")
cat >"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$dir/$1.prom"
