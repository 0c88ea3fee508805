#!/bin/sh
# hyperscaler-slurm-metrics: SLURM's state as Prometheus text, from sinfo, squeue and
# scontrol (runs on the controller; Debian has no SLURM exporter). Nodes drained by the
# stack (reason "hyperscaler: ...", set by scale-in and the maintenance runbook) are
# labelled planned="true", so their alerts stay silent.
set -u
now=$(date +%s)
echo "# HELP slurm_controller_up 1 when slurmctld answers scontrol ping."
echo "# TYPE slurm_controller_up gauge"
if scontrol ping 2>/dev/null | grep -q 'is UP'; then echo "slurm_controller_up 1"; else echo "slurm_controller_up 0"; exit 0; fi

# Nodes: one line each (sinfo -N repeats a node once per partition; -a: a node in no user partition too).
sinfo -a -h -N -o '%N|%T|%E' 2>/dev/null | awk -F'|' '
  BEGIN { n = split("idle allocated mixed completing drained draining down fail other", order, " ") }
  !seen[$1]++ {
    state = $2; sub(/[*~#!%$@^-]+$/, "", state)
    if (state !~ /^(idle|allocated|mixed|completing|drained|draining|down|fail)$/) state = "other"
    planned = ($3 ~ /^hyperscaler:/) ? "true" : "false"
    count[state]++
    line[++nodes] = sprintf("slurm_node_state{node=\"%s\",state=\"%s\",planned=\"%s\"} 1", $1, state, planned)
  }
  END {
    print "# HELP slurm_nodes SLURM nodes by state."; print "# TYPE slurm_nodes gauge"
    for (i = 1; i <= n; i++) printf "slurm_nodes{state=\"%s\"} %d\n", order[i], count[order[i]]
    print "# HELP slurm_node_state The state of each SLURM node (1); planned=\"true\" when the stack drained it."
    print "# TYPE slurm_node_state gauge"
    for (i = 1; i <= nodes; i++) print line[i]
  }'

# Jobs by state, and how long pending jobs have waited (submit time %V, UTC in this image).
squeue -h -a -o '%T|%V' 2>/dev/null | awk -F'|' -v now="$now" '
  BEGIN { n = split("pending running completing suspended other", order, " ") }
  {
    state = tolower($1)
    if (state !~ /^(pending|running|completing|suspended)$/) state = "other"
    count[state]++
    if (state == "pending") {
      t = $2; gsub(/[-T:]/, " ", t); wait = now - mktime(t)
      if (wait < 0) wait = 0
      sum += wait; if (wait > max) max = wait
    }
  }
  END {
    print "# HELP slurm_jobs Jobs in the queue by state."; print "# TYPE slurm_jobs gauge"
    for (i = 1; i <= n; i++) printf "slurm_jobs{state=\"%s\"} %d\n", order[i], count[order[i]]
    print "# HELP slurm_queue_wait_seconds_max Longest wait of a pending job."; print "# TYPE slurm_queue_wait_seconds_max gauge"
    printf "slurm_queue_wait_seconds_max %d\n", max
    print "# HELP slurm_queue_wait_seconds_sum Summed wait of the pending jobs (divide by slurm_jobs{state=\"pending\"} for the mean)."
    print "# TYPE slurm_queue_wait_seconds_sum gauge"
    printf "slurm_queue_wait_seconds_sum %d\n", sum
  }'

# Partition capacity: CPUs allocated/idle/other/total and nodes (%C is A/I/O/T).
sinfo -h -o '%R|%C|%D' 2>/dev/null | awk -F'|' '
  { split($2, c, "/"); a[$1] += c[1]; i[$1] += c[2]; o[$1] += c[3]; t[$1] += c[4]; nodes[$1] += $3 }
  END {
    print "# HELP slurm_partition_cpus CPUs of a partition by state."; print "# TYPE slurm_partition_cpus gauge"
    for (p in t) printf "slurm_partition_cpus{partition=\"%s\",state=\"allocated\"} %d\nslurm_partition_cpus{partition=\"%s\",state=\"idle\"} %d\nslurm_partition_cpus{partition=\"%s\",state=\"other\"} %d\nslurm_partition_cpus{partition=\"%s\",state=\"total\"} %d\n", p, a[p], p, i[p], p, o[p], p, t[p]
    print "# HELP slurm_partition_nodes Nodes in a partition."; print "# TYPE slurm_partition_nodes gauge"
    for (p in t) printf "slurm_partition_nodes{partition=\"%s\"} %d\n", p, nodes[p]
  }'

# Nodes of each partition by state (a node in two partitions counts in both).
sinfo -h -o '%R|%T|%D' 2>/dev/null | awk -F'|' '
  {
    state = $2; sub(/[*~#!%$@^-]+$/, "", state)
    if (state !~ /^(idle|allocated|mixed|completing|drained|draining|down|fail)$/) state = "other"
    count[$1 "|" state] += $3
  }
  END {
    print "# HELP slurm_partition_node_states Nodes of a partition by state."; print "# TYPE slurm_partition_node_states gauge"
    for (k in count) { split(k, f, "|"); printf "slurm_partition_node_states{partition=\"%s\",state=\"%s\"} %d\n", f[1], f[2], count[k] }
  }'

# The schedulers' cycles (sdiag, microseconds): the main scheduler's and backfill's last and mean.
sdiag 2>/dev/null | awk '
  /^Main schedule statistics/ { s = "main" } /^Backfilling stats/ { s = "backfill" } /^(Remote Procedure|Pending RPC)/ { s = "" }
  s != "" && /^[ \t]*Last cycle:/ { v = $NF; last[s] = v; seen[s] = 1 }
  s != "" && /^[ \t]*Mean cycle:/ { mean[s] = $NF; seen[s] = 1 }
  END {
    print "# HELP slurm_scheduler_cycle_seconds Length of the scheduler'"'"'s cycles (sdiag): the last one and the mean."
    print "# TYPE slurm_scheduler_cycle_seconds gauge"
    for (k in seen) {
      if (k in last) printf "slurm_scheduler_cycle_seconds{scheduler=\"%s\",cycle=\"last\"} %.6f\n", k, last[k] / 1e6
      if (k in mean) printf "slurm_scheduler_cycle_seconds{scheduler=\"%s\",cycle=\"mean\"} %.6f\n", k, mean[k] / 1e6
    }
  }'

# GPUs given to jobs, per node with a gpu GRES (GpuIdleWhileAllocated matches it with the
# node's use), from scontrol's GresUsed (`gpu:a100:1(IDX:0),...`; TRES leave GRES out
# unless accounting tracks them).
scontrol -d -o show node 2>/dev/null | awk '
  / Gres=[^ ]*gpu/ {
    match($0, /NodeName=[^ ]+/); node = substr($0, RSTART + 9, RLENGTH - 9)
    alloc = 0
    if (match($0, /GresUsed=[^ ]+/)) {
      used = substr($0, RSTART + 9, RLENGTH - 9)
      while (match(used, /gpu(:[A-Za-z0-9_]+)?:[0-9]+/)) {
        item = substr(used, RSTART, RLENGTH); sub(/.*:/, "", item); alloc += item
        used = substr(used, RSTART + RLENGTH)
      }
    }
    line[++n] = sprintf("slurm_node_gpus_allocated{node=\"%s\"} %d", node, alloc)
  }
  END {
    if (!n) exit
    print "# HELP slurm_node_gpus_allocated GPUs of a node given to jobs."; print "# TYPE slurm_node_gpus_allocated gauge"
    for (i = 1; i <= n; i++) print line[i]
  }'

# Accounting: whether slurmdbd answers, and the records slurmctld holds for it (sdiag);
# past MaxDBDMsgs slurmctld drops them.
if [ -n "${HYPERSCALER_DBD:-}" ]; then
  if timeout 2 bash -c "exec 3<>/dev/tcp/${HYPERSCALER_DBD%:*}/${HYPERSCALER_DBD##*:}" 2>/dev/null; then up=1; else up=0; fi
  printf '# HELP slurm_dbd_up 1 when slurmdbd answers on its port.\n# TYPE slurm_dbd_up gauge\nslurm_dbd_up %s\n' "$up"
  sdiag 2>/dev/null | awk -F: '/^DBD Agent queue size/ { gsub(/ /, "", $2); printf "# HELP slurm_dbd_agent_queue_size Records slurmctld holds for slurmdbd.\n# TYPE slurm_dbd_agent_queue_size gauge\nslurm_dbd_agent_queue_size %d\n", $2 }'
fi
