#!/bin/sh
# hyperscaler-reload: checks the delivered config with the daemon's own checker, then makes
# the running daemon load it (POST /-/reload). A config the checker refuses fails the
# update with the checker's message and leaves the running daemon on its last good config.
set -eu
role=${HYPERSCALER_ROLE:?}
case "$role" in
  prometheus) promtool check config /etc/hyperscaler/prometheus/prometheus.yml >/dev/null; port=9090 ;;
  alertmanager) amtool check-config /etc/hyperscaler/alertmanager/alertmanager.yml >/dev/null; port=9093 ;;
esac
# Not started yet (first delivery): the entrypoint reads the file when it starts.
if [ "$role" = prometheus ]; then
  hyperscaler-prometheus-api /-/ready -o /dev/null 2>/dev/null || exit 0
  hyperscaler-prometheus-api /-/reload -X POST
else
  curl -fs -o /dev/null "http://127.0.0.1:$port/-/ready" || exit 0
  curl -fsS -X POST "http://127.0.0.1:$port/-/reload"
fi
