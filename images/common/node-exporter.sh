#!/bin/sh
# hyperscaler-node-exporter: Debian's node exporter on :9100 (cluster network only; never
# published), with the textfile collector reading what hyperscaler-textfile writes. With
# HYPERSCALER_TLS=1 (a node on the LAN of several workstations) it serves TLS only, to
# clients with a certificate of the stack's CA (Prometheus): it waits for its certificate
# (hyperscaler-tls-install), and reads it again for each connection, so a renewal needs no restart.
set -eu
dir=${HYPERSCALER_METRICS_DIR:-/var/lib/hyperscaler/metrics}
mkdir -p "$dir"
if [ "${HYPERSCALER_TLS:-}" = 1 ]; then
  tls=/etc/hyperscaler/tls
  hyperscaler-wait-file "the node exporter" "$tls/server.pem" "$tls/ca.pem"
  cat >"$tls/web.yml" <<WEB
tls_server_config:
  cert_file: $tls/server.pem
  key_file: $tls/server.pem
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: $tls/ca.pem
WEB
  set -- --web.config.file="$tls/web.yml"
fi
exec runuser -u prometheus -- prometheus-node-exporter --web.listen-address=:9100 \
  --collector.textfile.directory="$dir" --no-collector.systemd --log.level=warn "$@"
