#!/bin/sh
# After new configs reach the controller: slurmctld reads them (SLURM 24.11 re-executes
# itself, keeping its state and dynamic nodes, and pushes the configs to every node), and
# this returns once it answers again. Several files changed in one update run it once
# each, one after another.
set -eu
exec 9>/run/hyperscaler-reconfigure.lock
flock 9
scontrol reconfigure
i=0
until scontrol ping 2>/dev/null | grep -q UP; do
  i=$((i + 1))
  [ "$i" -lt 600 ] || { echo "hyperscaler: slurmctld did not answer 60 s after reconfigure" >&2; exit 1; }
  sleep 0.1
done
