#!/bin/sh
# hyperscaler-pg-backup-loop: the backup schedule, started by the entrypoint. It re-reads
# /etc/hyperscaler/backup.conf (INTERVAL_MIN, RETAIN, DATABASES) every round, so changing
# the schedule is a file delivery, not a container replacement.
set -u
conf=/etc/hyperscaler/backup.conf
while :; do
  INTERVAL_MIN=60 RETAIN=24 DATABASES=
  [ -f "$conf" ] && . "$conf"
  sleep $((INTERVAL_MIN * 60))
  [ -f "$conf" ] && . "$conf"
  for db in $DATABASES; do
    hyperscaler-pg-backup "$db" "$RETAIN" || echo "hyperscaler: scheduled backup of $db failed" >&2
  done
done
