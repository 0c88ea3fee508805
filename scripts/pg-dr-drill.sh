#!/usr/bin/env bash
# A PostgreSQL disaster-recovery drill on a deployed stack, from scripts/ of this repo:
#   bash scripts/with-env.sh bash scripts/pg-dr-drill.sh --stack dev [--database appdb] [--size-mb 1024] [--method pitr|dump]
# Writes known data (SIZE_MB of rows), destroys the database container AND its data volume,
# brings them back with `pulumi up`, restores, checks the data is identical, and prints the
# measured RTO and RPO.
#   --method pitr (default): pgBackRest. A writer commits a row every 0.2 s until the loss,
#     with no backup or WAL switch forced; the restore replays every WAL file shipped
#     (scripts/pg-pitr.sh restore --to latest), and the RPO printed is the time between the
#     loss and the newest row that came back.
#   --method dump: the logical dump (hyperscaler-pg-backup just before the loss, then
#     hyperscaler-pg-restore); the RPO is the dump interval.
# It destroys the stack's database: run it on a drill stack, or accept losing what the
# method's RPO says.
set -euo pipefail
usage="usage: scripts/pg-dr-drill.sh --stack STACK [--database DB] [--size-mb N] [--method pitr|dump]"
stack='' db='' size_mb=64 method=pitr
while [ $# -gt 0 ]; do
  case "$1" in
    --help) echo "$usage"; exit 0 ;;
    --stack) stack=$2; shift 2 ;;
    --database) db=$2; shift 2 ;;
    --size-mb) size_mb=$2; shift 2 ;;
    --method) method=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 64 ;;
  esac
done
[ -n "$stack" ] || { echo "$usage" >&2; exit 64; }
case "$method" in pitr|dump) ;; *) echo "$usage" >&2; exit 64 ;; esac
# shellcheck source=lib/stack-manifest.sh
. "$(dirname "$0")/lib/stack-manifest.sh"
db=${db:-$(field postgres.databases)}
interval=$(field postgres.backup.intervalMin)
psql_() { docker exec -i "$container" runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
checksum() { psql_ -c "SELECT count(*) || ' ' || md5(string_agg(md5(payload), '' ORDER BY id)) FROM hyperscaler_drill"; }
now() { date +%s.%N; }
secs() { awk "BEGIN { printf \"%.1f\", $2 - $1 }"; }

echo "drill: writing ${size_mb} MB of known rows into $db.hyperscaler_drill"
rows=$((size_mb * 1024))   # rows of ~1 KiB of hex that compresses like real data, not like repeats
psql_ -c "DROP TABLE IF EXISTS hyperscaler_drill" -c "CREATE TABLE hyperscaler_drill (id int PRIMARY KEY, payload text)" \
  -c "INSERT INTO hyperscaler_drill SELECT g, (SELECT string_agg(encode(sha512((g || '/' || k)::text::bytea), 'hex'), '') FROM generate_series(1, 8) k)
      FROM generate_series(1, $rows) g"
before=$(checksum)
dbsize=$(psql_ -c "SELECT pg_database_size(current_database())")
echo "drill: $before (rows, checksum); database size $((dbsize / 1048576)) MB"

if [ "$method" = dump ]; then
  t0=$(now)
  docker exec "$container" hyperscaler-pg-backup "$db"
  t1=$(now)
  backup=$(docker exec "$container" sh -c "ls -1 /backups/$db-*.dump | sort -r | head -n 1")
  bytes=$(docker exec "$container" stat -c %s "$backup")
else
  # The known rows are older than one archive_timeout at the loss, as the RPO promises; a
  # writer goes on committing a row every 0.2 s up to the loss, so the newest row that comes
  # back measures what was lost.
  delay=$(psql_ -c "SELECT setting FROM pg_settings WHERE name = 'archive_timeout'")
  psql_ -c "DROP TABLE IF EXISTS hyperscaler_drill_beat" -c "CREATE TABLE hyperscaler_drill_beat (at timestamptz PRIMARY KEY DEFAULT clock_timestamp())"
  docker exec -d "$container" sh -c "while :; do runuser -u postgres -- psql -X -q -d '$db' -c 'INSERT INTO hyperscaler_drill_beat DEFAULT VALUES'; sleep 0.2; done"
  echo "drill: a writer commits a row every 0.2 s; the loss comes in $((delay + 5)) s (archive_timeout ${delay} s + 5)"
  sleep $((delay + 5))
fi

echo "drill: destroying $container and its data volume ${cluster}-postgres-data"
lost_at=$(date -u '+%Y-%m-%d %H:%M:%S.%N UTC')
docker rm -f "$container" >/dev/null
docker volume rm "${cluster}-postgres-data" >/dev/null
t2=$(now)
# quiet CMD...: runs CMD; on failure prints its output (pulumi writes its errors to stdout).
quiet() { local out; out=$("$@" 2>&1) || { echo "$out" | grep -iE -A3 "error" | head -n 40 >&2; echo "drill: '$*' failed" >&2; return 1; }; }
quiet pulumi refresh --stack "$stack" --yes --skip-preview
quiet pulumi up --stack "$stack" --yes --skip-preview
t3=$(now)
if [ "$method" = dump ]; then
  docker exec "$container" hyperscaler-pg-restore "$db" "$(basename "$backup")"
else
  out=$(bash "$(dirname "$0")/pg-pitr.sh" restore --stack "$stack" --to latest)
  echo "$out" | grep -E "restored|recovery" || true
  # The new server's empty data, kept by the restore: nothing in it to keep.
  docker volume rm "$(echo "$out" | sed -n 's/.*kept in volume \([^;]*\);.*/\1/p')" >/dev/null
fi
after=$(checksum)
t4=$(now)
if [ "$after" != "$before" ]; then
  echo "drill FAILED: restored data differs: before '$before', after '$after'" >&2
  exit 1
fi
psql_ -c "DROP TABLE hyperscaler_drill"
echo "drill: data identical after restore ($after)"
if [ "$method" = dump ]; then
  echo "drill: backup $(secs "$t0" "$t1") s for $((bytes / 1048576)) MB dump of a $((dbsize / 1048576)) MB database ($(awk "BEGIN { printf \"%.1f\", $dbsize / 1048576 / ($t1 - $t0) }") MB/s)"
  rpo="up to ${interval} min (backup every ${interval} min)"
else
  newest=$(psql_ -c "SELECT extract(epoch FROM max(at)) FROM hyperscaler_drill_beat")
  rpo="$(secs "$newest" "$(date -u -d "$lost_at" +%s.%N)") s (the newest row back was committed that long before the loss; archive_timeout ${delay} s)"
  psql_ -c "DROP TABLE hyperscaler_drill_beat"
fi
echo "drill: rebuild (refresh + up) $(secs "$t2" "$t3") s; restore + verify $(secs "$t3" "$t4") s ($(awk "BEGIN { printf \"%.1f\", $dbsize / 1048576 / ($t4 - $t3) }") MB/s)"
echo "drill: RTO $(secs "$t2" "$t4") s (database gone -> data back); RPO $rpo"
