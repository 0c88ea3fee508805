#!/bin/sh
# hyperscaler-prometheus-api PATH [CURL-OPTION...]
# Asks this container's Prometheus: over TLS with its login where it serves TLS
# (HYPERSCALER_TLS=1, several workstations), else plain HTTP on 127.0.0.1. How the image's
# scripts, health check, tests and runbooks reach the API either way.
set -eu
path=$1; shift
if [ "${HYPERSCALER_TLS:-}" = 1 ]; then
  exec curl -fsS --cacert /etc/hyperscaler/tls/ca.pem --netrc-file /etc/hyperscaler/prometheus/netrc "$@" "https://localhost:9090$path"
fi
exec curl -fsS "$@" "http://127.0.0.1:9090$path"
