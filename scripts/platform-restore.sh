#!/usr/bin/env bash
# The platform's data back from the backup repository, after the controller's workstation
# was lost and an update re-created the platform on another (docs/operations/backup-recovery.md,
# "The controller's workstation lost"), from scripts/ of this repo:
#   bash scripts/with-env.sh bash scripts/platform-restore.sh --stack STACK
# In order: PostgreSQL to the newest WAL the repository holds (pg-pitr.sh restore --to
# latest); MariaDB's accounting database from the newest verified dump shipped (slurmdbd
# stopped meanwhile); slurmctld's state from its newest copy (slurmctld stopped meanwhile;
# the jobs it knew come back, those that ran on lost nodes end as SLURM's rules say). The
# copies are those the lost workstation's shipper made: older than this shipper's container.
# What the re-created platform wrote before the restore is kept aside (each step says
# where). Then every node must answer a job step.
set -euo pipefail
usage="usage: scripts/platform-restore.sh --stack STACK"
stack=''
while [ $# -gt 0 ]; do
  case "$1" in
    --help) echo "$usage"; exit 0 ;;
    --stack) stack=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 64 ;;
  esac
done
[ -n "$stack" ] || { echo "$usage" >&2; exit 64; }
here=$(dirname "$0")
caller_host=${DOCKER_HOST:-}
# shellcheck source=lib/stack-manifest.sh
. "$here/lib/stack-manifest.sh"
controller=$(field controller.container)
# Everything but PostgreSQL runs on the controller's engine.
ctl_host=$(field "engines.$controller.dockerHost" || echo "$caller_host")
# on HOST ARGS...: docker on that engine (empty: the caller's default).
on() { local host=$1; shift; if [ -n "$host" ]; then DOCKER_HOST=$host docker "$@"; else env -u DOCKER_HOST docker "$@"; fi; }
ctl() { on "$ctl_host" "$@"; }
shipper="$cluster-backup-shipper"
ctl inspect "$shipper" >/dev/null 2>&1 || {
  echo "platform-restore: stack $stack has no backup repository ($shipper is not on the controller's engine): nothing off the workstation to restore from (hyperscaler:backupRepository)" >&2
  exit 65
}
image=$(ctl inspect --format '{{.Image}}' "$shipper")
network=$(ctl inspect --format '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}' "$shipper" | cut -d ' ' -f 1)
before=$(date -u -d "$(ctl inspect --format '{{.Created}}' "$shipper")" '+%Y-%m-%d %H:%M:%S')
stamp=$(date -u +%Y%m%dT%H%M%SZ)
now() { date +%s.%N; }
took() { awk "BEGIN { printf \"%.1f\", $(now) - $1 }"; }
volume_at() { ctl inspect --format "{{range .Mounts}}{{if eq .Destination \"$2\"}}{{.Name}}{{end}}{{end}}" "$1"; }
# ship_restore PART VOLUME DIR: PART's newest copy from before this shipper, into DIR of VOLUME.
ship_restore() {
  ctl exec "$shipper" hyperscaler-backup-ship files |
    ctl run --rm -i --network "$network" -e "HYPERSCALER_CLUSTER=$cluster" -v "$2:/restore" \
      --entrypoint hyperscaler-backup-ship "$image" restore "$1" "/restore/$3" "$before" | sed 's/^/platform-restore: /'
}
started=$(now)

t=$(now)
bash "$here/pg-pitr.sh" restore --stack "$stack" --to latest
echo "platform-restore: PostgreSQL restored in $(took "$t") s"

if mariadb=$(field accounting.mariadb); then
  t=$(now)
  slurmdbd=$(field accounting.slurmdbd)
  dir="from-repository-$stamp"
  ship_restore mariadb-backups "$(volume_at "$mariadb" /backups)" "$dir"
  dump=$(ctl exec "$mariadb" sh -c "ls -1 /backups/$dir/slurm_acct_db-*.sql.gz 2>/dev/null | sort -r | head -n 1")
  [ -n "$dump" ] || { echo "platform-restore: the repository's copy of MariaDB's backups has no dump of slurm_acct_db" >&2; exit 65; }
  ctl stop "$slurmdbd" >/dev/null
  ctl exec "$mariadb" hyperscaler-mariadb-restore slurm_acct_db "$dump" | sed 's/^/platform-restore: /'
  ctl start "$slurmdbd" >/dev/null
  ctl exec "$slurmdbd" hyperscaler-dbd-restart --wait | sed 's/^/platform-restore: /'
  echo "platform-restore: accounting restored in $(took "$t") s (the dumps copied back are in $mariadb:/backups/$dir)"
fi

t=$(now)
state=$(volume_at "$controller" /var/spool/slurmctld)
ctl stop "$controller" >/dev/null
# The state the re-created controller started with goes aside, in the same volume.
ctl run --rm -v "$state:/state" --entrypoint sh "$image" -c \
  "mkdir /state/.before-$stamp && find /state -mindepth 1 -maxdepth 1 ! -name '.before-*' -exec mv -t /state/.before-$stamp {} +"
ship_restore slurmctld-state "$state" .restored
ctl run --rm -v "$state:/state" --entrypoint sh "$image" -c \
  "find /state/.restored -mindepth 1 -maxdepth 1 -exec mv -t /state {} + && rmdir /state/.restored"
ctl start "$controller" >/dev/null
for _ in $(seq 300); do ctl exec "$controller" scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
# The restored state holds each node's address from before the loss: each node sets its own.
nodes=$(node -e 'for (const n of JSON.parse(process.argv[1]).computeNodes) console.log(n.name, n.container)' "$manifest")
while read -r _ container; do
  on "$(field "engines.$container.dockerHost" || echo "$ctl_host")" exec "$container" hyperscaler-node-address | sed 's/^/platform-restore: /'
done <<<"$nodes"
echo "platform-restore: slurmctld's state restored in $(took "$t") s (what the new controller had is in its volume's .before-$stamp)"

ctl exec "$controller" hyperscaler-validate "$(echo "$nodes" | cut -d ' ' -f 1 | paste -sd, -)"
echo "platform-restore: done in $(took "$started") s"
