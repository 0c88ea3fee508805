#!/bin/sh
# hyperscaler-validate HOSTLIST [TIMEOUT_SEC]   (runs on the controller)
# Proves a cluster works: waits for every node in HOSTLIST to be usable, then runs one
# job step across all of them and checks each node answered.
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
got=$(srun -N"$count" -w "$hosts" --time=2 hostname | sort)
if [ "$got" != "$want" ]; then
  echo "validation failed: srun -N$count -w $hosts answered from: $(echo "$got" | tr '\n' ' ')" >&2
  exit 1
fi
echo "validated: $count nodes ($hosts) ran srun hostname after ${waited}s"
