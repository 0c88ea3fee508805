#!/usr/bin/env bash
# PostgreSQL point-in-time restore on a deployed stack (pgBackRest), from scripts/ of this repo:
#   bash scripts/with-env.sh bash scripts/pg-pitr.sh window --stack STACK
#   bash scripts/with-env.sh bash scripts/pg-pitr.sh restore --stack STACK --to 'YYYY-MM-DD HH:MM:SS UTC'
# window: the moments a restore can reach (WAL written so far is shipped first).
# restore: the whole server back to just before --to (the "undo a bad DELETE"): refuses a
# time outside the window, naming it, with nothing changed; otherwise keeps the data as it
# is now in a new volume <cluster>-postgres-before-<time>, restores and replays to the target
# in a one-off container (a target the WAL cannot reach puts the data back as it was), then
# starts the server on the result. Drop the kept volume once satisfied (the command is
# printed). The server is down from the stop to the end of the replay.
set -euo pipefail
usage="usage: scripts/pg-pitr.sh window --stack STACK | restore --stack STACK --to TIME"
action=${1:-} stack='' to=''
[ $# -gt 0 ] && shift
while [ $# -gt 0 ]; do
  case "$1" in
    --help) echo "$usage"; exit 0 ;;
    --stack) stack=$2; shift 2 ;;
    --to) to=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 64 ;;
  esac
done
case "$action" in window|restore) ;; *) echo "$usage" >&2; exit 64 ;; esac
[ -n "$stack" ] || { echo "$usage" >&2; exit 64; }
[ "$action" = window ] || [ -n "$to" ] || { echo "restore needs --to TIME (like '2026-12-05 18:30:00 UTC')" >&2; exit 64; }
# shellcheck source=lib/stack-manifest.sh
. "$(dirname "$0")/lib/stack-manifest.sh"
if [ "$action" = window ]; then exec docker exec "$container" hyperscaler-pg-pitr window; fi

docker exec "$container" hyperscaler-pg-pitr window "$to"   # refuses (65) a time outside the window
# The repository's configs (with its key) go from the server's container to the restore's
# on stdin: never in a file or an argument here.
confs=$(docker exec "$container" hyperscaler-pg-pitr confs)
image=$(docker inspect --format '{{.Image}}' "$container")
volume() { docker inspect --format "{{range .Mounts}}{{if eq .Destination \"$1\"}}{{.Name}}{{end}}{{end}}" "$container"; }
data=$(volume /var/lib/postgresql/data) backups=$(volume /backups)
# On the server's network: the backup repository on another workstation is reached from there.
network=$(docker inspect --format '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}' "$container" | cut -d ' ' -f 1)
kept="$cluster-postgres-before-$(date -u +%Y%m%dT%H%M%SZ)"
docker volume create --label "hyperscaler.cluster=$cluster" --label hyperscaler.kept-by=pg-pitr "$kept" >/dev/null
started=$(date +%s.%N)
docker stop "$container" >/dev/null
if ! printf '%s\n' "$confs" | docker run --rm -i --network "$network" -e "HYPERSCALER_CLUSTER=$cluster" \
    -v "$data:/var/lib/postgresql/data" -v "$backups:/backups" -v "$kept:/before" \
    --entrypoint hyperscaler-pg-pitr "$image" restore "$to" | sed 's/^/pg-pitr: /'; then
  docker start "$container" >/dev/null
  docker volume rm "$kept" >/dev/null
  echo "pg-pitr: the restore failed; the server runs on its data as it was" >&2
  exit 1
fi
docker start "$container" >/dev/null
for _ in $(seq 600); do
  state=$(docker exec "$container" runuser -u postgres -- psql -X -At -h /run/postgresql -c "SELECT pg_is_in_recovery()" 2>/dev/null || true)
  [ "$state" = f ] && break
  sleep 0.5
done
[ "$state" = f ] || { echo "pg-pitr: the server does not accept writes 300 s after the restore: docker logs $container" >&2; exit 1; }
echo "pg-pitr: restored (--to $to) in $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $started }") s (server down to accepting writes)"
echo "pg-pitr: the data as it was is kept in volume $kept; once satisfied: docker volume rm $kept"
# A new timeline begins here: a backup now makes it the base of the next restore.
docker exec "$container" hyperscaler-pg-pitr backup incr | sed 's/^/pg-pitr: /'
