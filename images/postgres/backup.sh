#!/bin/sh
# hyperscaler-pg-backup DATABASE [RETAIN]
# A logical backup (pg_dump -Fc) into /backups, verified by restoring it into a scratch
# database, recorded beside it (<dump>.json: time, size, sha256, cluster), then the
# newest RETAIN (default: the stack's backup.retain) backups of DATABASE are kept. A
# backup that fails verification is deleted and the command fails: only good backups are ever recorded.
# Also publishes the newest good backup's time and size as metrics ($HYPERSCALER_METRICS_DIR).
set -eu
# RETAIN defaults to the schedule's (backup.conf), so an on-demand backup prunes no more
# than the stack's retention allows.
RETAIN=24; [ -f /etc/hyperscaler/backup.conf ] && . /etc/hyperscaler/backup.conf
db=$1 retain=${2:-$RETAIN}
dir=/backups cluster=${HYPERSCALER_CLUSTER:?set HYPERSCALER_CLUSTER}
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
size=$(stat -c %s "$dump") sha=$(sha256sum "$dump" | cut -d' ' -f1) now=$(date +%s)
printf '{"file":"%s","database":"%s","cluster":"%s","time":"%s","epoch":%s,"sizeBytes":%s,"sha256":"%s","tables":%s,"seconds":%s}\n' \
  "$(basename "$dump")" "$db" "$cluster" "$stamp" "$now" "$size" "$sha" "$tables" "$((now - start))" >"$dump.json.partial"
mv "$dump.json.partial" "$dump.json"
# Retention: newest first, drop the rest (dump and record together).
ls -1 "$dir/$db"-*.dump | sort -r | tail -n +"$((retain + 1))" | while read -r old; do rm -f "$old" "$old.json"; done
# The newest good backup's time, per database, for the node exporter's textfile collector.
printf '# HELP hyperscaler_postgres_backup_last_success_timestamp_seconds Time of the newest verified backup.\n# TYPE hyperscaler_postgres_backup_last_success_timestamp_seconds gauge\nhyperscaler_postgres_backup_last_success_timestamp_seconds{database="%s"} %s\n# HELP hyperscaler_postgres_backup_size_bytes Size of the newest verified backup.\n# TYPE hyperscaler_postgres_backup_size_bytes gauge\nhyperscaler_postgres_backup_size_bytes{database="%s"} %s\n' \
  "$db" "$now" "$db" "$size" | hyperscaler-textfile "backup-$db"
echo "backup $(basename "$dump"): $size bytes, sha256 $sha, $tables tables, verified in $((now - start))s"
