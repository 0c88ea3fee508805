#!/bin/sh
# hyperscaler-validate HOSTLIST [TIMEOUT_SEC]   (runs on the controller)
# Proves a cluster works: waits for every node in HOSTLIST to be usable, then runs one
# job step across all of them that are idle and checks each answered. Nodes busy with
# jobs are proven by those jobs; the step never queues behind them (--immediate).
set -eu
hosts=$1 timeout=${2:-180}
want=$(scontrol show hostnames "$hosts" | sort)
count=$(echo "$want" | wc -l)
start=$(date +%s)
while :; do
  waited=$(($(date +%s) - start))
  ready=$(sinfo -h -N -n "$hosts" -o '%N %t' 2>/dev/null | awk '$2 ~ /^(idle|alloc|mix)$/ {print $1}' | sort -u)
  [ "$ready" = "$want" ] && break
  if [ "$waited" -ge "$timeout" ]; then
    echo "validation failed: after ${timeout}s these nodes are not up:" >&2
    sinfo -N -n "$hosts" -o '%N %t %E' >&2 || true
    echo "$want" | grep -vxF "$ready" | sed 's/^/  missing: /' >&2 || true
    echo "  look at the missing node's slurmd log (docker logs <its container>): 'Invalid credential' means its MUNGE key differs" >&2
    exit 1
  fi
  sleep 1
done
# A job step on the idle nodes. Short --immediate tries, each on the nodes idle right then:
# a node taken by a user's job meanwhile is proven by that job, and the step never waits
# behind it.
busy=$count
while :; do
  idle=$(sinfo -h -N -n "$hosts" -t idle -o '%N' | sort -u)
  [ -n "$idle" ] || break
  n=$(echo "$idle" | wc -l)
  list=$(echo "$idle" | paste -sd, -)
  got=$(srun -N"$n" -w "$list" --immediate=5 --time=2 hostname 2>/tmp/hyperscaler-validate.err | sort) || true
  if [ "$got" = "$idle" ]; then busy=$((count - n)); break; fi
  if [ $(($(date +%s) - start)) -ge "$timeout" ]; then
    echo "validation failed: srun -N$n -w $list answered from: $(echo "$got" | tr '\n' ' '); srun said: $(tail -n 3 /tmp/hyperscaler-validate.err)" >&2
    exit 1
  fi
  sleep 1
done
echo "validated: $count nodes ($hosts) up after ${waited}s; srun hostname ran on the $((count - busy)) idle, $busy busy with jobs"
