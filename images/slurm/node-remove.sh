#!/bin/sh
# hyperscaler-node-remove NODE [TIMEOUT_SEC]   (runs on the controller)
# Scale-in for one dynamic node: drain it, wait for the jobs running there to finish,
# then delete it from SLURM. The container is removed only after this succeeds.
# Idempotent: a node SLURM no longer knows is already removed.
set -eu
node=$1 timeout=${2:-3600}
if ! scontrol show node "$node" >/dev/null 2>&1; then echo "$node: not in SLURM (already removed)"; exit 0; fi
scontrol update nodename="$node" state=drain reason="hyperscaler: scale-in"
waited=0
while [ -n "$(squeue -h -w "$node" -o %i)" ]; do
  if [ "$waited" -ge "$timeout" ]; then
    echo "$node: jobs still running after ${timeout}s: $(squeue -h -w "$node" -o %i | tr '\n' ' ')" >&2
    echo "$node: left drained; the node stays until they end (or cancel them: scancel -w $node)" >&2
    exit 75
  fi
  [ $((waited % 30)) -eq 0 ] && echo "$node: draining, waiting for jobs $(squeue -h -w "$node" -o %i | tr '\n' ' ')(${waited}s)"
  sleep 1; waited=$((waited + 1))
done
# The node can stay "busy" for a moment after its last job ends (epilog, step cleanup).
i=0; until scontrol delete nodename="$node" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 90 ] || { scontrol delete nodename="$node"; exit 1; }; sleep 1
done
echo "$node: drained after ${waited}s and removed from SLURM"
