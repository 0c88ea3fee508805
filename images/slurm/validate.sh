#!/bin/sh
# hyperscaler-validate HOSTLIST [TIMEOUT_SEC]   (runs on the controller)
# Proves a cluster works: waits for every node in HOSTLIST to be usable, then runs one
# job step across all of them that are idle and checks each answered. Nodes busy with
# jobs are proven by those jobs; the step never queues behind them (--immediate).
set -eu
hosts=$1 timeout=${2:-180}
want=$(scontrol show hostnames "$hosts" | sort)
count=$(echo "$want" | wc -l)
waited=0
while :; do
  ready=$(sinfo -h -N -n "$hosts" -o '%N %t' 2>/dev/null | awk '$2 ~ /^(idle|alloc|mix)$/ {print $1}' | sort -u)
  [ "$ready" = "$want" ] && break
  if [ "$waited" -ge "$timeout" ]; then
    echo "validation failed: after ${timeout}s these nodes are not up:" >&2
    sinfo -N -n "$hosts" -o '%N %t %E' >&2 || true
    echo "$want" | grep -vxF "$ready" | sed 's/^/  missing: /' >&2 || true
    echo "  look at the missing node's slurmd log (docker logs <its container>): 'Invalid credential' means its MUNGE key differs" >&2
    exit 1
  fi
  sleep 1; waited=$((waited + 1))
done
idle=$(sinfo -h -N -n "$hosts" -t idle -o '%N' | sort -u)
busy=$((count - $(echo "$idle" | grep -c . || true)))
if [ -n "$idle" ]; then
  n=$(echo "$idle" | wc -l)
  list=$(echo "$idle" | paste -sd, -)
  got=$(srun -N"$n" -w "$list" --immediate=60 --time=2 hostname | sort) || true
  if [ "$got" != "$idle" ]; then
    echo "validation failed: srun -N$n -w $list answered from: $(echo "$got" | tr '\n' ' ')" >&2
    exit 1
  fi
fi
echo "validated: $count nodes ($hosts) up after ${waited}s; srun hostname ran on the $((count - busy)) idle, $busy busy with jobs"
