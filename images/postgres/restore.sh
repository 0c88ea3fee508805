#!/bin/sh
# hyperscaler-pg-restore DATABASE [BACKUP|newest] [--into NEW_DATABASE]
# Restores a verified backup. Refuses, changing nothing, a backup that is missing, has no
# record, fails its checksum, or comes from another cluster. The restore goes into a new
# database first; only when it succeeds is DATABASE swapped for it, and the previous
# DATABASE is kept as DATABASE_before_<time> (drop it once satisfied). With --into, the
# backup goes to NEW_DATABASE and DATABASE is not touched (to compare first).
# shellcheck disable=SC2034 # dir, cluster, engine, ext, retain: read by backup-lib.sh
set -eu
db=$1 which=${2:-newest} into=
[ "${3:-}" = "--into" ] && into=${4:?--into needs a database name}
dir=/backups cluster=${HYPERSCALER_CLUSTER:?set HYPERSCALER_CLUSTER} engine=postgres ext=dump
# shellcheck source=../common/backup-lib.sh
. /usr/local/lib/hyperscaler/backup-lib.sh
as_pg() { runuser -u postgres -- "$@"; }
readable() { as_pg pg_restore --list "$1" >/dev/null 2>&1; }
backup_choose "$which"
target=${into:-"hs_restore_$(date +%s)_$$"}
as_pg createdb "$target"
if ! as_pg pg_restore --exit-on-error --dbname="$target" "$dump" 2>/tmp/restore.err; then
  [ -n "$into" ] || as_pg dropdb --if-exists "$target"
  backup_refuse "pg_restore failed: $(head -c 500 /tmp/restore.err)"
fi
if [ -n "$into" ]; then echo "restored $(basename "$dump") into $into ($db untouched)"; exit 0; fi
owner=$(as_pg psql -X -At -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$db'")
kept="${db}_before_$(date -u +%Y%m%dT%H%M%SZ)"
as_pg psql -X -q -v ON_ERROR_STOP=1 -v db="$db" -v kept="$kept" -v target="$target" -v owner="${owner:-postgres}" >/dev/null <<'SQL'
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN (:'db', :'target') AND pid <> pg_backend_pid();
SELECT format('ALTER DATABASE %I RENAME TO %I', :'db', :'kept') WHERE EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I RENAME TO %I', :'target', :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'owner') \gexec
SELECT format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', :'db') \gexec
SQL
echo "restored $(basename "$dump") into $db; the previous $db is kept as $kept"
