#!/bin/sh
# hyperscaler-backup-loop BACKUP_COMMAND: the backup schedule, started by a database
# image's entrypoint. It re-reads /etc/hyperscaler/backup.conf (INTERVAL_MIN, RETAIN,
# DATABASES) every round, so changing the schedule is a file delivery, not a container
# replacement; each round runs BACKUP_COMMAND DATABASE RETAIN for every database.
set -u
backup=$1
conf=/etc/hyperscaler/backup.conf
while :; do
  INTERVAL_MIN=60 RETAIN=24 DATABASES=
  # shellcheck source=/dev/null # written by the components (backup.conf)
  [ -f "$conf" ] && . "$conf"
  sleep $((INTERVAL_MIN * 60))
  # shellcheck source=/dev/null
  [ -f "$conf" ] && . "$conf"
  for db in $DATABASES; do
    "$backup" "$db" "$RETAIN" || echo "hyperscaler: scheduled backup of $db failed" >&2
  done
done
