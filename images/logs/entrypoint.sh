#!/bin/sh
# VictoriaLogs with the stack's retention. The splunk driver's fields: `index` is the
# cluster, `source` the workstation, `event.tag` the container (the log stream: one per
# container), `event.attrs.hyperscaler.role` its role, `event.source` stdout or stderr;
# the line itself is the message (_msg).
# With HYPERSCALER_FORWARD_TO (host:port) it is the store's front on the LAN instead: it
# takes lines and hands them to the store, and answers no query (-select.disable), so a
# host on the LAN can send lines but never read them.
set -eu
fields=-splunk.streamFields=index,source,event.tag
if [ -n "${HYPERSCALER_FORWARD_TO:-}" ]; then
  exec victoria-logs -httpListenAddr=:9428 -select.disable -storageNode="$HYPERSCALER_FORWARD_TO" "$fields" -loggerFormat=default
fi
exec victoria-logs -storageDataPath=/logs -httpListenAddr=:9428 "$fields" -loggerFormat=default \
  -retentionPeriod="${HYPERSCALER_RETENTION:-7d}" -retention.maxDiskSpaceUsageBytes="${HYPERSCALER_MAX_DISK:-10GiB}"
