#!/usr/bin/env bash
# SLURM's own floor for bench/throughput.bench.ts: the cluster's slurmctld, slurmd and
# munged run as plain processes on this machine, with no container and no Pulumi.
#
#   bench/native-slurm.sh IMAGE SLURM_CONF JOBS CPUS MEMORY_MIB NAME
#
# IMAGE is the cluster's SLURM role image: its files become a chroot, so the binaries are
# the very ones the containers run (this machine's Debian has another SLURM). SLURM_CONF
# is the cluster's controller's slurm.conf (its tuning profile included); only the
# controller's host and the ports change (127.0.0.1, 26817/26818). One slurmd registers
# with CPUS and MEMORY_MIB: the cluster's slots, on one node (Debian's SLURM runs one slurmd
# a host). The processes share this machine's network and cgroups; they run in a PID and
# mount namespace of their own so that all of them, and the chroot's mounts, are gone when
# the script ends, even when it is killed (no container: no cgroup, no network of its own).
#
# Submits JOBS one-line jobs named NAME one by one (sbatch), waits until none is queued,
# running or completing, and prints `START SUBMITTED END COMPLETED` (epoch seconds; the
# jobs that ran to their end, each leaving a file).
set -euo pipefail
[ $# -eq 6 ] || { echo "usage: $0 IMAGE SLURM_CONF JOBS CPUS MEMORY_MIB NAME" >&2; exit 64; }
image=$1 conf=$2 jobs=$3 cpus=$4 memory=$5 name=$6

if [ -z "${HYPERSCALER_NATIVE_NS:-}" ]; then
  HYPERSCALER_NATIVE_NS=1 exec unshare --pid --fork --kill-child --mount --propagation private "$0" "$@"
fi

# What a killed run left (its processes and mounts went with its namespaces; benches run one at a time).
rm -rf --one-file-system /tmp/hyperscaler-native-*
root=$(mktemp -d /tmp/hyperscaler-native-XXXXXX)
chmod 755 "$root"  # the chroot's /, where munge and slurm must find their files
cleanup() {
  # The daemons first (they hold the chroot's mounts), then the files.
  local pid
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
  wait
  umount -l "$root/proc" "$root/dev" 2>/dev/null || true
  # --one-file-system: never into a mount left behind (/dev is this machine's).
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

container=$(docker create "$image" true)
docker export "$container" | tar -x -C "$root" || { docker rm -f "$container" >/dev/null; exit 1; }
docker rm -f "$container" >/dev/null
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
in_root() { chroot "$root" "$@"; }

host=$(hostname -s)
sed -e "s/^SlurmctldHost=.*/SlurmctldHost=$host(127.0.0.1)/" \
    -e "s/^SlurmctldPort=.*/SlurmctldPort=26817/" -e "s/^SlurmdPort=.*/SlurmdPort=26818/" \
    "$conf" > "$root/etc/slurm/slurm.conf"
printf 'CgroupPlugin=disabled\n' > "$root/etc/slurm/cgroup.conf"
head -c 1024 /dev/urandom > "$root/etc/munge/munge.key"
in_root sh -c 'chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key &&
  mkdir -p /run/munge /var/spool/slurmctld /var/spool/slurmd && chown munge:munge /run/munge &&
  chown slurm:slurm /var/spool/slurmctld'

# until SECONDS WHAT COMMAND...: polls every 0.1 s.
until_ok() {
  local limit=$(( $1 * 10 )) what=$2 i=0; shift 2
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -ge $limit ]; then
      echo "native SLURM: $what not within $((limit / 10)) s" >&2
      tail -n 20 "$root"/var/log/native-*.log >&2
      exit 1
    fi
    sleep 0.1
  done
}
chroot "$root" runuser -u munge -- munged --foreground >"$root/var/log/native-munged.log" 2>&1 &
until_ok 10 "munged" test -S "$root/run/munge/munge.socket.2"
chroot "$root" slurmctld -D -i >"$root/var/log/native-slurmctld.log" 2>&1 &
until_ok 30 "slurmctld" in_root scontrol ping
chroot "$root" slurmd -D -Z -N native --conf "CPUs=$cpus RealMemory=$memory Feature=cpu" >"$root/var/log/native-slurmd.log" 2>&1 &
until_ok 30 "slurmd's registration" sh -c "chroot '$root' sinfo -h -n native -o %t | grep -qx idle"

in_root sh -c "
  start=\$(date +%s.%N)
  i=0; while [ \$i -lt $jobs ]; do sbatch --quiet -J $name -o /dev/null --wrap 'mkdir -p /tmp/$name && : >/tmp/$name/\$SLURM_JOB_ID' || exit 1; i=\$((i+1)); done
  submitted=\$(date +%s.%N)
  while [ -n \"\$(squeue -h -n $name -t PD,R,CG -o %i | head -1)\" ]; do sleep 0.2; done
  end=\$(date +%s.%N)
  echo \"\$start \$submitted \$end \$(ls /tmp/$name 2>/dev/null | wc -l)\""
