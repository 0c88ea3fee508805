#!/bin/sh
# hyperscaler-pg-restore DATABASE [BACKUP|newest] [--into NEW_DATABASE]
# Restores a verified backup. Refuses, changing nothing, a backup that is missing, has no
# record, fails its checksum, or comes from another cluster. The restore goes into a new
# database first; only when it succeeds is DATABASE swapped for it, and the previous
# DATABASE is kept as DATABASE_before_<time> (drop it once satisfied). With --into, the
# backup goes to NEW_DATABASE and DATABASE is not touched (to compare first).
set -eu
db=$1 which=${2:-newest} into=
[ "${3:-}" = "--into" ] && into=${4:?--into needs a database name}
dir=/backups cluster=${HYPERSCALER_CLUSTER:?set HYPERSCALER_CLUSTER}
as_pg() { runuser -u postgres -- "$@"; }
# problem DUMP: why DUMP cannot be restored into $db here; nothing when it can.
problem() {
  [ -f "$1" ] || { echo "no backup file $1 (list them: ls $dir)"; return; }
  [ -f "$1.json" ] || { echo "$1 has no record ($1.json): it was not written or verified by hyperscaler-pg-backup"; return; }
  field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$2.json"; }
  [ "$(field cluster "$1")" = "$cluster" ] || { echo "$1 is from cluster '$(field cluster "$1")', this is '$cluster'"; return; }
  [ "$(field database "$1")" = "$db" ] || { echo "$1 is a backup of '$(field database "$1")', not '$db'"; return; }
  [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$(field sha256 "$1")" ] || { echo "$1 is corrupt: its sha256 differs from the one recorded at backup time"; return; }
  as_pg pg_restore --list "$1" >/dev/null 2>&1 || echo "$1 is not a readable pg_dump archive"
}
# A refusal names the newest backup that would restore, so the next command is at hand.
refuse() {
  good=
  for f in $(ls -1 "$dir/$db"-*.dump 2>/dev/null | sort -r); do
    [ "$f" != "${dump:-}" ] && [ -z "$(problem "$f")" ] && { good=$f; break; }
  done
  echo "hyperscaler-pg-restore: refused, nothing changed: $*" >&2
  if [ -n "$good" ]; then echo "  the newest good backup of $db is $(basename "$good"): hyperscaler-pg-restore $db $(basename "$good")" >&2
  else echo "  no other good backup of $db in $dir" >&2; fi
  exit 65
}
if [ "$which" = newest ]; then
  dump=$(ls -1 "$dir/$db"-*.dump 2>/dev/null | sort -r | head -n 1)
  [ -n "$dump" ] || refuse "no backup of $db in $dir"
else
  case "$which" in /*) dump=$which ;; *) dump="$dir/$which" ;; esac
fi
why=$(problem "$dump")
[ -z "$why" ] || refuse "$why"
target=${into:-"hs_restore_$(date +%s)_$$"}
as_pg createdb "$target"
if ! as_pg pg_restore --exit-on-error --dbname="$target" "$dump" 2>/tmp/restore.err; then
  [ -n "$into" ] || as_pg dropdb --if-exists "$target"
  refuse "pg_restore failed: $(head -c 500 /tmp/restore.err)"
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
