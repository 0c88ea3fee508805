#!/bin/sh
# Starts Prometheus or Alertmanager (HYPERSCALER_ROLE) once its config has been delivered
# by `docker exec`; later deliveries are applied by hyperscaler-reload, not a restart.
set -eu
role=${HYPERSCALER_ROLE:?set HYPERSCALER_ROLE to prometheus or alertmanager}
conf=/etc/hyperscaler/$role/$role.yml
hyperscaler-wait-file "$role" "$conf"
chown prometheus:prometheus "/$role"
# Several workstations: Prometheus serves TLS with a login (its web config), read per request.
set --
if [ "$role" = prometheus ] && [ "${HYPERSCALER_TLS:-}" = 1 ]; then
  web=/etc/hyperscaler/prometheus/web.yml
  until [ -s "$web" ]; do sleep 1; done
  set -- --web.config.file="$web"
fi
case "$role" in
  prometheus) exec runuser -u prometheus -- prometheus --config.file="$conf" "$@" \
      --storage.tsdb.path=/prometheus --storage.tsdb.retention.time="${HYPERSCALER_RETENTION:-15d}" \
      --web.listen-address=:9090 --web.enable-lifecycle \
      --web.console.libraries=/usr/share/prometheus/console_libraries --web.console.templates=/usr/share/prometheus/consoles ;;
  alertmanager) exec runuser -u prometheus -- prometheus-alertmanager --config.file="$conf" \
      --storage.path=/alertmanager --web.listen-address=:9093 --cluster.listen-address= ;;
  *) echo "hyperscaler: unknown HYPERSCALER_ROLE '$role'" >&2; exit 64 ;;
esac
