#!/bin/sh
# hyperscaler-validate HOSTLIST [TIMEOUT_SEC]   (runs on the controller)
# Proves a cluster works: waits for every node in HOSTLIST to be usable, then runs one
# job step across all of them that are idle and checks each answered. Nodes busy with
# jobs (or held for one by the backfill scheduler) are proven by those jobs; the step
# never queues behind them (--immediate).
# Steps run in the hidden partition `hyperscaler` over every node (MAINTENANCE_PARTITION in
# components/config), so any partition layout validates; sinfo -a shows hidden partitions.
set -eu
maint=hyperscaler
hosts=$1 timeout=${2:-180}
want=$(scontrol show hostnames "$hosts" | sort)
count=$(echo "$want" | wc -l)
start=$(date +%s)
while :; do
  waited=$(($(date +%s) - start))
  # plnd (SLURM 23.02+): idle, and held by the backfill scheduler for a queued job.
  ready=$(sinfo -a -h -N -n "$hosts" -o '%N %t' 2>/dev/null | awk '$2 ~ /^(idle|alloc|mix|plnd)$/ {print $1}' | sort -u)
  [ "$ready" = "$want" ] && break
  if [ "$waited" -ge "$timeout" ]; then
    echo "validation failed: after ${timeout}s these nodes are not up:" >&2
    sinfo -a -N -n "$hosts" -o '%N %t %E' >&2 || true
    echo "$want" | grep -vxF "$ready" | sed 's/^/  missing: /' >&2 || true
    echo "  look at the missing node's slurmd log (docker logs <its container>): 'Invalid credential' means its MUNGE key differs" >&2
    exit 1
  fi
  # Quick looks while a new node is expected any moment; then every second, sparing slurmctld.
  if [ "$waited" -lt 5 ]; then sleep 0.2; else sleep 1; fi
done
# A job step on each idle node, in parallel, never waiting behind other jobs (--immediate):
# a node a user's job takes meanwhile is proven by that job instead.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
stepped=0
pending=$(sinfo -a -h -N -n "$hosts" -t idle -o '%N' | sort -u)
while [ -n "$pending" ]; do
  # One step across all of them first; where that does not get every node at once (a user's
  # job took one), a step per node, 16 at a time.
  list=$(echo $pending | tr ' ' ',')
  got=$(srun -p "$maint" -N"$(echo $pending | wc -w)" -w "$list" --immediate=3 --time=1 hostname 2>"$tmp/all.err" | sort) || true
  if [ "$got" = "$(echo $pending | tr ' ' '\n' | sort)" ]; then
    for n in $pending; do echo "$n" >"$tmp/$n"; done
  else
    # A step that fails (a job took the node meanwhile) is judged below, node by node.
    echo $pending | tr ' ' '\n' | xargs -P 16 -I{} sh -c 'srun -p "$2" -N1 -w {} --immediate=3 --time=1 hostname >"$1/{}" 2>&1' _ "$tmp" "$maint" || true
  fi
  retry=""
  for n in $pending; do
    if [ "$(cat "$tmp/$n")" = "$n" ]; then stepped=$((stepped + 1)); continue; fi
    state=$(sinfo -a -h -N -n "$n" -o '%t' | head -1)
    case "$state" in alloc|mix|plnd) ;; *) retry="$retry $n" ;; esac
  done
  pending=$retry
  if [ -n "$pending" ] && [ $(($(date +%s) - start)) -ge "$timeout" ]; then
    for n in $pending; do echo "validation failed: srun on $n: $(tail -n 3 "$tmp/$n")" >&2; done
    exit 1
  fi
  [ -z "$pending" ] || sleep 1
done
busy=$((count - stepped))
echo "validated: $count nodes ($hosts) up after ${waited}s; srun hostname ran on the $((count - busy)) idle, $busy busy with jobs"
