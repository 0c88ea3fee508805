#!/bin/bash
# hyperscaler-mariadb-backup DATABASE [RETAIN]
# A logical backup (mariadb-dump --single-transaction, gzip) into /backups, verified by
# restoring it into a scratch database, recorded beside it (<backup>.json: time, size,
# sha256, cluster), then the newest RETAIN (default: the stack's backup.retain) backups of
# DATABASE are kept. A backup that fails verification is deleted and the command fails.
# Publishes the newest good backup's time and size as metrics, like PostgreSQL's.
# shellcheck disable=SC2034 # dir, cluster, engine, ext, retain: read by backup-lib.sh
set -euo pipefail
RETAIN=24; [ -f /etc/hyperscaler/backup.conf ] && . /etc/hyperscaler/backup.conf
db=$1 retain=${2:-$RETAIN}
dir=/backups cluster=${HYPERSCALER_CLUSTER:?set HYPERSCALER_CLUSTER} engine=mariadb ext=sql.gz
# shellcheck source=../common/backup-lib.sh
. /usr/local/lib/hyperscaler/backup-lib.sh
stamp=$(date -u +%Y%m%dT%H%M%SZ)
file="$dir/$db-$stamp.sql.gz"
start=$(date +%s)
err=$(mktemp) # not in $dir: it may be full
scratch="hs_verify_$(date +%s)_$$"
trap 'rm -f "$file.partial" "$file.json.partial" "$err"; mariadb -e "DROP DATABASE IF EXISTS \`$scratch\`" 2>/dev/null || true' EXIT
if ! mariadb-dump --single-transaction --quick "$db" 2>"$err" | gzip >"$file.partial"; then
  echo "hyperscaler-mariadb-backup: $db backup FAILED, nothing recorded, older backups untouched: $(head -c 500 "$err")" >&2
  echo "  $dir: $(df -h "$dir" | awk 'NR == 2 { print $5 " used, " $4 " free" }')" >&2
  exit 1
fi
mariadb -e "CREATE DATABASE \`$scratch\`"
if ! gunzip -c "$file.partial" | mariadb "$scratch" 2>"$err"; then
  echo "hyperscaler-mariadb-backup: $db backup failed verification (restore into a scratch database): $(head -c 500 "$err")" >&2
  exit 1
fi
tables=$(mariadb -N -e "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$scratch'")
mv "$file.partial" "$file"
backup_record "$file" "$stamp" "$start" "$tables"
