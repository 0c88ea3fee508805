#!/bin/bash
# PID 1's child in every SLURM container (tini is PID 1 and reaps munged).
# The MUNGE key (and, on the controller, the slurm configs) arrive by `docker exec` after
# the container starts, the same way a rotation delivers them later, so neither ever
# forces a container replacement. Compute nodes fetch their configs from slurmctld
# (SLURM's configless mode), and get new ones on `scontrol reconfigure`.
set -eu
role=${HYPERSCALER_ROLE:?set HYPERSCALER_ROLE to controller, compute or dbd}
# The membership's key delivery waits for this file: an update that re-created the node
# returns once slurmctld knows this start (an operator's resume before it would be undone
# by the reboot the registration reports, leaving the node DOWN with the drain's reason).
REGISTERED=/run/hyperscaler-registered
rm -f "$REGISTERED"
hyperscaler-driver-libraries
hyperscaler-lan-hosts --apply
# Metrics from the start, so a node stuck waiting for its key shows (munge_ok 0).
hyperscaler-node-exporter &
hyperscaler-metrics-loop &
# munged writes its own file: its lines (credentials it rejects among them) join the container's output.
tail -n0 -F /var/log/munge/munged.log 2>/dev/null | sed -u 's/^/munged: /' &
need=(/etc/munge/munge.key)
[ "$role" = controller ] && need+=(/etc/slurm/slurm.conf)
[ "$role" = dbd ] && need+=(/etc/slurm/slurmdbd.conf)
present() { for f in "${need[@]}"; do [ -s "$f" ] || return 1; done; }
# waitfor HOST:PORT WHAT: until something listens there, saying so every minute.
waitfor() {
  local ticks=0
  until (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; do
    [ $((ticks % 600)) -eq 0 ] && echo "hyperscaler: waiting for $2 at $1 ($((ticks / 10))s)"
    sleep 0.1; ticks=$((ticks + 1))
  done
}
# Polled every 0.1 s: a node starts the moment its key lands.
ticks=0
until present; do
  [ $((ticks % 600)) -eq 0 ] && echo "hyperscaler: waiting for ${need[*]} ($((ticks / 10))s)"
  sleep 0.1; ticks=$((ticks + 1))
done
hyperscaler-munge-restart
# rejoin: once this start's slurmd has registered (scontrol reads the config it fetched),
# make slurmctld reach the node at its address (hyperscaler-node-address: a container's
# address changes when the engine restarts), and resume it if slurmctld set it DOWN for the
# reboot that registration reported. slurmctld may mark the reboot a moment after the registration (a controller that restarted with the engine
# is still recovering its state), or twice: slurmd -b reports an uptime of whole seconds
# from its start, so a second registration in its first seconds (slurmctld asks for one
# when a node it could not reach answers again) reads as one more reboot. So the reason
# is watched for 30 s after the registration, and each DOWN it causes is resumed.
rejoin() {
  local host address started info registered i watch_until=0; host=$(hostname) address=$(hyperscaler-node-address --print) started=$(date +%s)
  for i in $(seq 1 900); do
    sleep 0.2
    info=$(scontrol show node "$host" 2>/dev/null) || continue
    if [ "$watch_until" -eq 0 ]; then
      registered=$(date -d "$(echo "$info" | sed -n 's/.*SlurmdStartTime=\([0-9T:-]*\).*/\1/p' | tr T ' ')" +%s 2>/dev/null) || continue
      [ "$registered" -ge "$started" ] || continue
      watch_until=$((i + 150))
    fi
    case "$info" in *"NodeAddr=$address "*) ;; *) scontrol update nodename="$host" nodeaddr="$address" ;; esac
    [ -e "$REGISTERED" ] || touch "$REGISTERED"
    case "$info" in *"Reason=Node unexpectedly rebooted"*)
      scontrol update nodename="$host" state=resume &&
        echo "hyperscaler: $host resumed after its container (re)start; slurmctld ended the jobs it had here" ;;
    esac
    [ "$i" -lt "$watch_until" ] || return
  done
}
case "$role" in
  controller)
    # With accounting, a slurmctld that has never reached slurmdbd has no associations or
    # TRES to start from and exits: the first start waits for slurmdbd. Later starts run
    # from their saved state and queue the records for slurmdbd if it is away.
    if [ -n "${HYPERSCALER_DBD:-}" ] && [ ! -e /var/spool/slurmctld/assoc_mgr_state ]; then waitfor "$HYPERSCALER_DBD" slurmdbd; fi
    exec slurmctld -D ;;
  dbd)
    # Kept running here, so hyperscaler-dbd-restart (a new password, a new key) restarts
    # slurmdbd alone; slurmctld queues its records meanwhile.
    while :; do
      rc=0; slurmdbd -D || rc=$?
      echo "hyperscaler: slurmdbd exited ($rc); starting it again"
      sleep 1
    done ;;
  compute)
    server=${HYPERSCALER_CONF_SERVER:?set HYPERSCALER_CONF_SERVER to the controller host:port}
    # slurmd retries a failed config fetch only every 10 s: wait until slurmctld listens.
    waitfor "$server" slurmctld
    # A container start is a reboot (no process of an earlier start is left), but its
    # uptime is the host's, so slurmctld would not see one and would keep the jobs this
    # node ran before RUNNING on it forever. slurmd -b reports the reboot: slurmctld sets
    # the node DOWN ("Node unexpectedly rebooted") and ends its jobs by SLURM's rules
    # (requeued where allowed, else NODE_FAIL). Then the node resumes itself; a node an
    # operator had drained or downed keeps that state and reason.
    rejoin &
    # A dynamic node: it registers itself, so slurm.conf never lists compute nodes.
    exec slurmd -D -b -Z --conf-server "$server" --conf "${HYPERSCALER_NODE_CONF:?set HYPERSCALER_NODE_CONF}" ;;
  *) echo "hyperscaler: unknown HYPERSCALER_ROLE '$role'" >&2; exit 64 ;;
esac
