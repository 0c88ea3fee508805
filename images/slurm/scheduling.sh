#!/bin/sh
# hyperscaler-scheduling pause|resume   (runs on the controller)
# Around a MUNGE key rotation: for the second or two in which nodes hold different keys, a
# job launched across them would fail. `pause` sets every UP partition DOWN (running jobs
# carry on; new jobs and srun wait in the queue instead of failing) and remembers which;
# `resume` sets exactly those UP again (the hidden maintenance partition included). A
# partition an operator took down stays down.
set -eu
saved=/var/spool/slurmctld/hyperscaler-paused-partitions
case "${1:-}" in
  pause)
    sinfo -a -h -o '%R %a' | awk '$2 == "up" {print $1}' | sort -u >"$saved.new"
    mv "$saved.new" "$saved"
    for p in $(cat "$saved"); do scontrol update partitionname="$p" state=down; done
    echo "paused scheduling on: $(tr '\n' ' ' <"$saved")" ;;
  resume)
    [ -f "$saved" ] || { echo "nothing paused"; exit 0; }
    for p in $(cat "$saved"); do scontrol update partitionname="$p" state=up; done
    echo "resumed scheduling on: $(tr '\n' ' ' <"$saved")"; rm -f "$saved" ;;
  *) echo "usage: hyperscaler-scheduling pause|resume" >&2; exit 64 ;;
esac
