#!/usr/bin/env bash
# scripts/upgrade-from-debian12.sh --stack STACK [--yes] [--drain-timeout SEC]
# scripts/upgrade-from-debian12.sh --stack STACK --rollback DEBIAN12_CHECKOUT
# scripts/upgrade-from-debian12.sh --stack STACK --confirm
#
# Moves a running stack from the Debian 12 release (SLURM 22.05, PostgreSQL 15, MariaDB
# 10.11) onto this one (SLURM 24.11, PostgreSQL 17, MariaDB 11.8), whose servers cannot
# read all of the old data (docs/operations/maintenance.md#upgrade-a-stack-from-debian-12):
#  1. drains every node and waits for the running jobs;
#  2. exports every job record from accounting (sacct) to <cluster>-mariadb-backups,
#     slurm-22.05-jobs.psv.gz, and takes a verified backup of each PostgreSQL database;
#  3. stops the containers and copies each data volume aside, to <volume>-debian12;
#  4. empties what the new servers start afresh: slurmctld's state, PostgreSQL's data
#     directory, and the accounting database in MariaDB (MariaDB itself upgrades in place);
#  5. runs scripts/up.sh (new images; the nodes register again), refreshes and applies
#     again so the declared QOS, accounts and users are added to the new accounting
#     database, and restores each PostgreSQL database from the backup of step 2.
# Without --yes it prints the plan and changes nothing. --rollback puts the volumes kept
# aside back and deploys the Debian 12 checkout given; --confirm deletes them.
set -euo pipefail
usage='usage: scripts/upgrade-from-debian12.sh --stack STACK [--yes] [--drain-timeout SEC] [--rollback DEBIAN12_CHECKOUT] [--confirm]'
here=$(cd "$(dirname "$0")" && pwd)
stack="" yes=0 timeout=3600 rollback="" confirm=0
while [ $# -gt 0 ]; do
  case "$1" in
    --help) echo "$usage"; exit 0 ;;
    --stack) stack=$2; shift 2 ;;
    --yes) yes=1; shift ;;
    --drain-timeout) timeout=$2; shift 2 ;;
    --rollback) rollback=$2; shift 2 ;;
    --confirm) confirm=1; shift ;;
    *) echo "$usage" >&2; exit 64 ;;
  esac
done
[ -n "$stack" ] || { echo "$usage" >&2; exit 64; }
say() { echo "upgrade: $*"; }
die() { echo "upgrade: $*" >&2; exit 1; }
cluster=$(pulumi config get hyperscaler:clusterName --stack "$stack")
base=${HYPERSCALER_BASE_IMAGE:?run scripts/setup.sh and source scripts/env.sh first}
ctl="$cluster-controller" pg="$cluster-postgres" maria="$cluster-mariadb"
export_file=slurm-22.05-jobs.psv.gz
volumes=()
for v in slurmctld-state postgres-data mariadb-data; do
  docker volume inspect "$cluster-$v" >/dev/null 2>&1 && volumes+=("$cluster-$v")
done
running() { [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
# in_volumes DOCKER-RUN-ARGS...: a throwaway container (of the base image) over the volumes.
in_volumes() { docker run --rm --network none "$@"; }
stop_all() {
  local ids; ids=$(docker ps -q --filter "label=hyperscaler.cluster=$cluster")
  # 30 s: slurmctld saves its state, the databases shut down cleanly.
  [ -z "$ids" ] || docker stop -t 30 $ids >/dev/null
}

if [ "$confirm" = 1 ]; then
  for v in "${volumes[@]}"; do
    if docker volume inspect "$v-debian12" >/dev/null 2>&1; then docker volume rm "$v-debian12" >/dev/null; say "deleted $v-debian12"; fi
  done
  exit 0
fi

if [ -n "$rollback" ]; then
  [ -f "$rollback/scripts/up.sh" ] || die "--rollback: $rollback is not a checkout of the Debian 12 release (git worktree add ../hyperscaler-debian12 55a613a)"
  for v in "${volumes[@]}"; do
    docker volume inspect "$v-debian12" >/dev/null 2>&1 || die "$v-debian12 is not there: nothing to roll back to (deleted by --confirm?)"
  done
  stop_all
  # This release keeps a SLURM node's container under the cluster; the Debian 12 release
  # makes it under a component of the node, so creates it anew: the name must be free (that
  # update then drops the entry it no longer has; a container already gone is done).
  for role in controller compute dbd; do
    ids=$(docker ps -aq --filter "label=hyperscaler.cluster=$cluster" --filter "label=hyperscaler.role=$role")
    [ -z "$ids" ] || docker rm $ids >/dev/null
  done
  for v in "${volumes[@]}"; do
    in_volumes -v "$v-debian12:/from:ro" -v "$v:/to" --entrypoint sh "$base" -c 'find /to -mindepth 1 -delete && cp -a /from/. /to/'
    say "$v: put back as it was before the upgrade"
  done
  # slurmctld's state is the one saved at the upgrade, its nodes drained for it: they are
  # resumed as soon as the old release's slurmctld answers, before the update validates them.
  (
    for _ in $(seq 1 600); do
      drained=$(docker exec "$ctl" sinfo -h -N -R -o '%N|%E' 2>/dev/null | sed -n 's/|upgrade to Debian 13$//p' | sort -u | paste -sd, -) || true
      if [ -n "$drained" ]; then docker exec "$ctl" scontrol update nodename="$drained" state=resume && break; fi
      sleep 1
    done
  ) &
  resumer=$!
  # Also when the update fails: the loop would hold the script's output open for 10 minutes.
  trap 'kill "$resumer" 2>/dev/null || true' EXIT
  (cd "$rollback" && bash scripts/up.sh --stack "$stack" --reason "roll back the upgrade to Debian 13" --yes --non-interactive --skip-preview)
  say "rolled back: the stack runs the Debian 12 release on its old data; the volumes kept aside stay until --confirm"
  exit 0
fi

# What the volumes hold decides whether there is anything to do.
mounts=()
for v in "${volumes[@]}"; do case "$v" in
  *-slurmctld-state) mounts+=(-v "$v:/d/slurm:ro") ;; *-postgres-data) mounts+=(-v "$v:/d/postgres:ro") ;; *-mariadb-data) mounts+=(-v "$v:/d/mariadb:ro") ;; esac; done
versions=$(in_volumes "${mounts[@]}" \
  --entrypoint sh "$base" -c "$(cat "$here/lib/data-versions.sh")")
slurm_state=$(sed -n 's/^slurm //p' <<<"$versions")
[ -n "$slurm_state" ] && [ "$slurm_state" -lt $((39 << 8)) ] || die "$cluster's slurmctld state is not SLURM 22.05's (${slurm_state:-none}): nothing to upgrade"
accounting=0; grep -qx mariadb-accounting <<<"$versions" && accounting=1
databases=()
if running "$pg"; then
  mapfile -t databases < <(docker exec "$pg" runuser -u postgres -- psql -X -At -c "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY 1")
fi
say "plan for $stack (cluster $cluster):"
say "  drain every node and wait for running jobs (up to ${timeout}s)"
[ "$accounting" = 0 ] || say "  export every job record to $cluster-mariadb-backups:/backups/$export_file; start the accounting database afresh"
[ ${#databases[@]} -eq 0 ] || say "  back up, then restore into PostgreSQL 17: ${databases[*]}"
say "  keep aside: ${volumes[*]/%/-debian12}"
say "  deploy this release (SLURM 24.11) with scripts/up.sh; slurmctld starts on fresh state"
[ "$yes" = 1 ] || { say "dry run: nothing changed (run again with --yes)"; exit 0; }

running "$ctl" || die "$ctl is not running: start the stack on its release first (its jobs and records are read from it)"
nodes=$(docker exec "$ctl" sinfo -h -N -o %N | sort -u | paste -sd, -)
[ -z "$nodes" ] || docker exec "$ctl" scontrol update nodename="$nodes" state=drain reason="upgrade to Debian 13"
say "drained $nodes; waiting for running jobs"
waited=0
until [ -z "$(docker exec "$ctl" squeue -h -t running,completing -o %i)" ]; do
  [ "$waited" -lt "$timeout" ] || die "jobs still running after ${timeout}s: $(docker exec "$ctl" squeue -h -o '%i %u %T' | paste -sd, -); nothing else was changed (nodes stay drained)"
  sleep 5; waited=$((waited + 5))
done
if [ "$accounting" = 1 ]; then
  docker exec "$ctl" sacct -a -D -P -S 1970-01-01 -E now --format=ALL | docker exec -i "$maria" sh -c "gzip > /backups/$export_file.partial && mv /backups/$export_file.partial /backups/$export_file"
  say "exported $(docker exec "$maria" sh -c "gzip -dc /backups/$export_file | tail -n +2 | wc -l") job records to /backups/$export_file"
fi
for db in "${databases[@]}"; do docker exec "$pg" hyperscaler-pg-backup "$db"; done

stop_all
for v in "${volumes[@]}"; do
  docker volume inspect "$v-debian12" >/dev/null 2>&1 && die "$v-debian12 already exists: an earlier upgrade kept it; roll back or --confirm first"
  docker volume create --label "hyperscaler.cluster=$cluster" --label hyperscaler.kept-for=upgrade "$v-debian12" >/dev/null
  in_volumes -v "$v:/from:ro" -v "$v-debian12:/to" --entrypoint cp "$base" -a /from/. /to/
  say "kept $v aside as $v-debian12"
done
if [ "$accounting" = 1 ]; then
  # The old MariaDB drops SLURM 22.05's accounting database, which slurmdbd 24.11 cannot
  # convert; the new slurmdbd makes it afresh.
  docker start "$maria" >/dev/null
  i=0; until docker exec "$maria" mariadb-admin ping --silent >/dev/null 2>&1; do i=$((i + 1)); [ $i -lt 120 ] || die "$maria did not start"; sleep 0.5; done
  docker exec "$maria" mariadb -e "DROP DATABASE slurm_acct_db"
  docker stop -t 30 "$maria" >/dev/null
fi
for v in "${volumes[@]}"; do
  case "$v" in *-slurmctld-state|*-postgres-data)
    in_volumes -v "$v:/v" --entrypoint find "$base" /v -mindepth 1 -delete
    say "emptied $v: the new release starts it afresh" ;;
  esac
done

bash "$here/up.sh" --stack "$stack" --reason "upgrade to Debian 13 (SLURM 24.11)" --yes --non-interactive --skip-preview
if [ "$accounting" = 1 ]; then
  # The entities are gone from the new database: refresh drops them from state, up adds them.
  pulumi refresh --stack "$stack" --yes --non-interactive --skip-preview >/dev/null
  bash "$here/up.sh" --stack "$stack" --reason "upgrade to Debian 13: accounts, users and QOS" --yes --non-interactive --skip-preview
fi
for db in "${databases[@]}"; do docker exec "$pg" hyperscaler-pg-restore "$db" newest; done
say "upgraded: $(docker exec "$ctl" scontrol version); old data kept in ${volumes[*]/%/-debian12} until --confirm"
