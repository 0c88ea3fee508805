#!/bin/sh
# PID 1's child in every SLURM container (tini is PID 1 and reaps munged).
# The MUNGE key and slurm configs arrive by `docker exec` after the container starts, the
# same way a rotation delivers them later, so neither ever forces a container replacement.
set -eu
role=${HYPERSCALER_ROLE:?set HYPERSCALER_ROLE to controller or compute}
# Metrics from the start, so a node stuck waiting for its key shows (munge_ok 0).
hyperscaler-node-exporter &
hyperscaler-metrics-loop &
waited=0
until [ -s /etc/munge/munge.key ] && [ -s /etc/slurm/slurm.conf ]; do
  [ $((waited % 60)) -eq 0 ] && echo "hyperscaler: waiting for /etc/munge/munge.key and /etc/slurm/slurm.conf (${waited}s)"
  sleep 1; waited=$((waited + 1))
done
hyperscaler-munge-restart
case "$role" in
  controller) exec slurmctld -D ;;
  # A dynamic node: it registers itself, so slurm.conf never lists compute nodes.
  compute) exec slurmd -D -Z --conf "${HYPERSCALER_NODE_CONF:?set HYPERSCALER_NODE_CONF}" ;;
  *) echo "hyperscaler: unknown HYPERSCALER_ROLE '$role'" >&2; exit 64 ;;
esac
