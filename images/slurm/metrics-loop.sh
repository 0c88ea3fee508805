#!/bin/sh
# hyperscaler-metrics-loop: started by the entrypoint on every node. Every 15 s, for the
# node exporter's textfile collector, it checks MUNGE (a credential encoded and decoded,
# and the credentials munged rejected as invalid, expired, rewound or replayed, counted
# from its log; "Unauthorized credential" lines are SLURM's normal uid-restricted decodes),
# on the controller, collects SLURM's state, and on a GPU node, its GPUs'.
set -u
role=${HYPERSCALER_ROLE:-compute}
log=/var/log/munge/munged.log
while :; do
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then ok=1; else ok=0; fi
  errors=$(grep -cE 'Invalid credential|Expired credential|Rewound credential|Replayed credential' "$log" 2>/dev/null || true)
  printf '# HELP hyperscaler_munge_ok 1 when munged here encodes and decodes a credential.\n# TYPE hyperscaler_munge_ok gauge\nhyperscaler_munge_ok %s\n# HELP hyperscaler_munge_credential_errors_total Credentials munged here rejected since it started logging.\n# TYPE hyperscaler_munge_credential_errors_total counter\nhyperscaler_munge_credential_errors_total %s\n' \
    "$ok" "${errors:-0}" | hyperscaler-textfile munge
  [ "$role" = controller ] && hyperscaler-slurm-metrics | hyperscaler-textfile slurm
  [ "${HYPERSCALER_GPU_COUNT:-0}" -gt 0 ] && hyperscaler-gpu-metrics | hyperscaler-textfile gpu
  # Soon after start the key may not be there yet: look again quickly until MUNGE works.
  if [ "$ok" = 1 ]; then sleep 15; else sleep 2; fi
done
