#!/usr/bin/env bash
# A team's Pulumi state in PostgreSQL, for a team that has no database of its own:
#   bash scripts/state-server.sh start      # start (or upgrade) it; prints the PULUMI_BACKEND_URL to use
#   bash scripts/state-server.sh url        # the backend URL alone: export PULUMI_BACKEND_URL=$(bash scripts/state-server.sh url)
#   bash scripts/state-server.sh status     # running?, stacks held, newest verified backup
#   bash scripts/state-server.sh backup     # a backup now, verified by restoring it into a scratch database
#   bash scripts/state-server.sh restore [BACKUP|newest]   # the newest (or a named) verified backup
#   bash scripts/state-server.sh rotate-password           # a new password for the state role
#   bash scripts/state-server.sh stop | remove [--delete-data]
# PostgreSQL is the project's own role image (images/postgres) on the base image, with its
# backup, verify-by-restore and restore tools and its backup schedule. The server listens on
# 127.0.0.1 only (reach it from another machine through `ssh -L`); --network also puts it
# on a Docker network, by name. The state role's password lives in a passfile (0600), never
# in the URL: the URL names the file.
# Settings (environment): HYPERSCALER_STATE_SERVER (name, default hyperscaler-state),
# HYPERSCALER_STATE_PORT (default 5433), HYPERSCALER_STATE_PASSFILE (default
# ~/.config/hyperscaler/<name>.pgpass), HYPERSCALER_STATE_BACKUP_INTERVAL_MIN (default 60),
# HYPERSCALER_STATE_BACKUP_RETAIN (default 48).
set -euo pipefail
# shellcheck source=lib/paths.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/paths.sh"
usage="usage: scripts/state-server.sh start [--network NAME] | url | status | backup | restore [BACKUP|newest] | rotate-password | stop | remove [--delete-data]"
name=${HYPERSCALER_STATE_SERVER:-hyperscaler-state}
port=${HYPERSCALER_STATE_PORT:-5433}
passfile=${HYPERSCALER_STATE_PASSFILE:-${XDG_CONFIG_HOME:-$HOME/.config}/hyperscaler/$name.pgpass}
interval=${HYPERSCALER_STATE_BACKUP_INTERVAL_MIN:-60} retain=${HYPERSCALER_STATE_BACKUP_RETAIN:-48}
role=pulumi db=pulumi_state
label="hyperscaler.state-server=$name"
[[ $name =~ ^[a-z0-9][a-z0-9_.-]*$ ]] || { echo "state-server: HYPERSCALER_STATE_SERVER '$name' is not a container name (a-z, 0-9, . _ -)" >&2; exit 64; }
[[ $port =~ ^[0-9]+$ ]] && [ "$port" -ge 1024 ] && [ "$port" -le 65535 ] || { echo "state-server: HYPERSCALER_STATE_PORT '$port' must be a port from 1024 to 65535" >&2; exit 64; }

say() { echo "state-server: $*"; }
fail() { echo "state-server: $*" >&2; exit 1; }
running() { [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ]; }
in_server() { docker exec -i "$name" "$@"; }
new_password() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32; }
url() { echo "postgres://$role@127.0.0.1:$port/$db?sslmode=disable&connect_timeout=10&passfile=$passfile"; }
# The state role's password from stdin, then the passfile, written whole or not at all.
set_password() {
  local pw tmp; pw=$(new_password)
  printf '%s\n' "$pw" | in_server hyperscaler-pg-set-password "$role" "$db" >/dev/null
  mkdir -p "$(dirname "$passfile")"
  tmp=$(mktemp "$passfile.XXXXXX"); chmod 0600 "$tmp"
  printf '127.0.0.1:%s:%s:%s:%s\n' "$port" "$db" "$role" "$pw" >"$tmp"
  mv "$tmp" "$passfile"
}
wait_ready() {
  local i=0
  until in_server runuser -u postgres -- pg_isready -q 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 120 ] || fail "$name did not accept connections in 60 s: docker logs $name"
    running || fail "$name stopped: docker logs $name"
    sleep 0.5
  done
}

start() {
  local network='' image fresh=''
  while [ $# -gt 0 ]; do
    case "$1" in --network) network=$2; shift 2 ;; *) echo "$usage" >&2; exit 64 ;; esac
  done
  docker info >/dev/null 2>&1 || fail "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}); run: bash scripts/setup.sh"
  docker image inspect "$HYPERSCALER_BASE_IMAGE" >/dev/null 2>&1 || fail "no base image $HYPERSCALER_BASE_IMAGE on this engine; run: bash scripts/setup.sh"
  # The image is named by what it is built from, so a changed script upgrades the server.
  image="hyperscaler/state-server:$(cat "$HYPERSCALER_REPO"/images/postgres/* "$HYPERSCALER_REPO"/images/common/* | sha256sum | cut -c1-12)"
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    say "building $image on ${HYPERSCALER_BASE_IMAGE}"
    docker build -q --build-arg "BASE_IMAGE=$HYPERSCALER_BASE_IMAGE" -t "$image" -f "$HYPERSCALER_REPO/images/postgres/Dockerfile" "$HYPERSCALER_REPO/images" >/dev/null
  fi
  # A server made from another image or on another port is made again around its volumes.
  if docker inspect "$name" >/dev/null 2>&1; then
    if [ "$(docker inspect -f '{{.Config.Image}}' "$name")" != "$image" ]; then
      say "upgrading $name to $image (the data volume stays)"; docker rm -f "$name" >/dev/null
    elif [ "$(docker inspect -f '{{(index (index .HostConfig.PortBindings "5432/tcp") 0).HostPort}}' "$name")" != "$port" ]; then
      say "moving $name to port $port (the data volume stays)"; docker rm -f "$name" >/dev/null
    else
      running || docker start "$name" >/dev/null || fail "$name does not start: docker logs $name"
    fi
  fi
  for v in data backups; do
    docker volume inspect "$name-$v" >/dev/null 2>&1 || { docker volume create --label "$label" "$name-$v" >/dev/null; [ $v = data ] && fresh=1; }
  done
  if ! docker inspect "$name" >/dev/null 2>&1; then
    docker run -d --name "$name" --hostname "$name" --label "$label" --restart unless-stopped \
      --cap-drop ALL --cap-add CHOWN --cap-add DAC_OVERRIDE --cap-add FOWNER --cap-add SETGID --cap-add SETUID --cap-add KILL \
      --security-opt no-new-privileges --memory 512m \
      -e "HYPERSCALER_CLUSTER=$name" -p "127.0.0.1:$port:5432" \
      -v "$name-data:/var/lib/postgresql/data" -v "$name-backups:/backups" "$image" >/dev/null ||
      { docker rm -f "$name" >/dev/null 2>&1; fail "$name did not start (is 127.0.0.1:$port taken? choose another with HYPERSCALER_STATE_PORT); its volumes are kept"; }
    # The superuser's password is needed once, to initialise the volume; nothing keeps it
    # (the tools log in as postgres over the local socket).
    [ -n "$fresh" ] && new_password | in_server hyperscaler-install /run/hyperscaler/superuser-password 0400 root:root >/dev/null
  fi
  [ -n "$network" ] && { docker network inspect "$network" >/dev/null 2>&1 || fail "--network: no Docker network '$network'"; docker network connect "$network" "$name" 2>/dev/null || true; }
  wait_ready
  printf 'INTERVAL_MIN=%s\nRETAIN=%s\nDATABASES=%s\n' "$interval" "$retain" "$db" | in_server hyperscaler-install /etc/hyperscaler/backup.conf 0644 root:root >/dev/null
  # A new server, or a passfile lost or made for another port: a new password.
  grep -q "^127.0.0.1:$port:$db:$role:" "$passfile" 2>/dev/null || set_password
  say "$name is up on 127.0.0.1:$port, database $db, role $role (password in $passfile)"
  say "backups: every ${interval} min, newest ${retain} kept, verified by restore (bash scripts/state-server.sh backup for one now)"
  echo "export PULUMI_BACKEND_URL='$(url)'"
}

status() {
  running || { say "$name is not running (bash scripts/state-server.sh start)"; return 3; }
  say "$name is up on 127.0.0.1:$port"
  echo "stacks: $(in_server runuser -u postgres -- psql -X -At -d "$db" -c "SELECT count(*) FROM pulumi_state WHERE key LIKE '%.pulumi/stacks/%.json'" 2>/dev/null || echo 0)"
  echo "newest verified backup: $(in_server sh -c "ls -1 /backups/$db-*.dump.json 2>/dev/null | sort -r | head -n 1 | xargs -r cat" || true)"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  url) url ;;
  status) status ;;
  backup) running || fail "$name is not running"; in_server hyperscaler-pg-backup "$db" ;;
  # Nobody may be writing state meanwhile: the restore swaps the database whole and keeps
  # the one it replaces as ${db}_before_<time>.
  restore) running || fail "$name is not running"; in_server hyperscaler-pg-restore "$db" "${2:-newest}" ;;
  rotate-password) running || fail "$name is not running"; set_password; say "new password for $role in $passfile; give it to the team (their passfiles)" ;;
  stop) docker stop "$name" >/dev/null && say "$name stopped (data kept; start it again with: bash scripts/state-server.sh start)" ;;
  remove)
    docker rm -f "$name" >/dev/null 2>&1 || true
    if [ "${2:-}" = --delete-data ]; then docker volume rm "$name-data" "$name-backups" >/dev/null 2>&1 || true; rm -f "$passfile"; say "$name removed with its data and backups"
    else say "$name removed; its volumes $name-data and $name-backups stay (start brings it back with them)"; fi ;;
  --help|-h) echo "$usage" ;;
  *) echo "$usage" >&2; exit 64 ;;
esac
