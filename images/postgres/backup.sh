#!/bin/sh
# hyperscaler-pg-backup DATABASE [RETAIN]
# A logical backup (pg_dump -Fc) into /backups, verified by restoring it into a scratch
# database, recorded beside it (<dump>.json: time, size, sha256, cluster), then the
# newest RETAIN (default: the stack's backup.retain) backups of DATABASE are kept. A
# backup that fails verification is deleted and the command fails: only good backups are ever recorded.
# Also publishes the newest good backup's time and size as metrics ($HYPERSCALER_METRICS_DIR).
# shellcheck disable=SC2034 # dir, cluster, engine, ext, retain: read by backup-lib.sh
set -eu
# RETAIN defaults to the schedule's (backup.conf), so an on-demand backup prunes no more
# than the stack's retention allows.
RETAIN=24; [ -f /etc/hyperscaler/backup.conf ] && . /etc/hyperscaler/backup.conf
db=$1 retain=${2:-$RETAIN}
dir=/backups cluster=${HYPERSCALER_CLUSTER:?set HYPERSCALER_CLUSTER} engine=postgres ext=dump
# shellcheck source=../common/backup-lib.sh
. /usr/local/lib/hyperscaler/backup-lib.sh
as_pg() { runuser -u postgres -- "$@"; }
stamp=$(date -u +%Y%m%dT%H%M%SZ)
dump="$dir/$db-$stamp.dump"
start=$(date +%s)
# A failed backup leaves no part behind (a full disk must not fill up further), and says
# why; the older backups and the metrics of the newest good one stay as they were, so
# PostgresBackupTooOld fires once the interval has passed.
err=$(mktemp) # not in $dir: it may be full
trap 'rm -f "$dump.partial" "$dump.json.partial" "$err"' EXIT
if ! as_pg pg_dump -Fc --dbname="$db" --file="$dump.partial" 2>"$err"; then
  echo "hyperscaler-pg-backup: $db backup FAILED, nothing recorded, older backups untouched: $(head -c 500 "$err")" >&2
  echo "  $dir: $(df -h "$dir" | awk 'NR == 2 { print $5 " used, " $4 " free" }')" >&2
  exit 1
fi
scratch="hs_verify_$(date +%s)_$$"
as_pg createdb "$scratch"
if ! as_pg pg_restore --exit-on-error --dbname="$scratch" "$dump.partial" 2>"$err"; then
  as_pg dropdb --if-exists "$scratch"
  echo "hyperscaler-pg-backup: $db backup failed verification (restore into a scratch database): $(head -c 500 "$err")" >&2
  exit 1
fi
tables=$(as_pg psql -X -At -d "$scratch" -c "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema')")
as_pg dropdb "$scratch"
mv "$dump.partial" "$dump"
backup_record "$dump" "$stamp" "$start" "$tables"
