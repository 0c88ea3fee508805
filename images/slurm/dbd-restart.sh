#!/bin/bash
# hyperscaler-dbd-restart [--wait]: restarts slurmdbd in its container (the entrypoint
# starts it again) to read a new slurmdbd.conf, and waits until it listens again. With
# --wait, only waits (after the container was started). slurmctld keeps the records it
# sends meanwhile and delivers them when slurmdbd is back.
set -eu
if [ "${1:-}" != --wait ]; then
  pkill -x slurmdbd || true
  i=0
  while pgrep -x slurmdbd >/dev/null; do i=$((i + 1)); [ "$i" -le 300 ] || break; sleep 0.1; done
fi
i=0
until (exec 3<>/dev/tcp/127.0.0.1/6819) 2>/dev/null; do
  i=$((i + 1)); [ "$i" -le 600 ] || { echo "hyperscaler-dbd-restart: slurmdbd did not listen again in 60 s (docker logs of this container say why)" >&2; exit 1; }
  sleep 0.1
done
echo "slurmdbd restarted"
