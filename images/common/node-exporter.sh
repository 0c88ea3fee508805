#!/bin/sh
# hyperscaler-node-exporter: Debian's node exporter on :9100 (cluster network only; never
# published), with the textfile collector reading what hyperscaler-textfile writes.
set -eu
dir=${HYPERSCALER_METRICS_DIR:-/var/lib/hyperscaler/metrics}
mkdir -p "$dir"
exec runuser -u prometheus -- prometheus-node-exporter --web.listen-address=:9100 \
  --collector.textfile.directory="$dir" --no-collector.systemd --log.level=warn
