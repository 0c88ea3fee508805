#!/usr/bin/env bash
# The GPU checks of scripts/gpu-check.sh on a GPU machine that has no Docker engine (the
# lent device machine): the project's SLURM image, exported as a root filesystem, runs in
# a chroot the way `access: devices` runs it in a container: the GPU's and the driver's
# device files and the host's driver files (scripts/gpu-driver-files.sh) bound in, the
# project's rendered slurm.conf, gres.conf and node definition, its TaskProlog. Then
# scripts/gpu-check.sh runs against it, and the GPU metrics script reads the real GPU.
#   bash tests/device/gpu-native.sh ROOTFS.tar.xz CONF_DIR OUT_DIR
# ROOTFS: `docker export` of images/slurm, compressed; CONF_DIR: tests/device/render-configs.ts.
# HYPERSCALER_DEV (default /dev) is where the GPU device files are looked for (a dry run
# elsewhere points it at fake ones).
set -uo pipefail
tarball=$1 conf=$2 out=$3
dev=${HYPERSCALER_DEV:-/dev}
root=$(mktemp -d /tmp/hyperscaler-gpu-root.XXXXXX)
chmod 755 "$root" # the root of the node: its daemons' users (munge, slurm) must get through it
section() { echo; echo "######## $*"; }
die() { echo "gpu-native: $*" >&2; exit 1; }
in_root() { env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root chroot "$root" "$@"; }
bind() { # HOST NODE: a file bound into the root where the node sees it
  mkdir -p "$root$(dirname "$2")" && touch "$root$2" && mount --bind "$1" "$root$2"
}
cleanup() {
  # Every process running in the root (daemons and their children), and only those.
  for p in /proc/[0-9]*; do [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill "${p#/proc/}" 2>/dev/null; done
  sleep 1; umount -R "$root" 2>/dev/null; for m in $(awk -v r="$root" '$2 ~ "^"r { print $2 }' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
  rm -rf "$root"
}
trap cleanup EXIT

section "host"
uname -r; grep PRETTY_NAME /etc/os-release
nvidia-smi -L || true
nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv || true
ls -l "$dev"/nvidia* 2>&1

section "driver files (scripts/gpu-driver-files.sh)"
bash scripts/gpu-driver-files.sh | tee "$out/driver-files.yaml" || echo "(none: the node gets no driver files)"

section "root filesystem"
tar -xJf "$tarball" -C "$root" || die "cannot unpack $tarball"
mount -t proc proc "$root/proc" && mount --rbind /sys "$root/sys" && mount -t tmpfs tmpfs "$root/dev" || die "cannot mount /proc, /sys or /dev in $root"
mkdir -p "$root/dev/shm" "$root/dev/pts"
for d in null zero random urandom full tty; do bind "/dev/$d" "/dev/$d" || die "cannot bind /dev/$d"; done
# The GPU (its number as on the host, as the toolkit does) and the driver's shared devices.
gpu=$(ls "$dev"/nvidia[0-9]* 2>/dev/null | head -1)
[ -n "$gpu" ] || die "no $dev/nvidia<N> here"
id=${gpu##*/nvidia}
for d in "$gpu" "$dev/nvidiactl" "$dev/nvidia-uvm" "$dev/nvidia-uvm-tools"; do
  if [ -e "$d" ]; then bind "$d" "/dev/${d##*/}" && echo "bound $d as /dev/${d##*/}"; else echo "no $d here"; fi
done
# The driver files, HOST[:NODE] as in gpus.driverFiles, and their libraries on the loader's path.
libdirs=
while read -r entry; do
  host=${entry%%:*} node=${entry#*:}
  bind "$host" "$node" || die "cannot bind $host"
  case "${node##*/}" in *.so.*) libdirs="$libdirs:$(dirname "$node")" ;; esac
done < <(sed -n 's/^  - //p' "$out/driver-files.yaml" 2>/dev/null)
libdirs=$(tr ':' '\n' <<<"${libdirs#:}" | sort -u | paste -sd:)
in_root env HYPERSCALER_DRIVER_LIBRARY_DIRS="$libdirs" hyperscaler-driver-libraries || die "hyperscaler-driver-libraries failed"
in_root ldconfig -p | grep -E 'libcuda\.so|libnvidia-ml\.so' || echo "(no driver library on the node's loader path)"

section "SLURM: munged, slurmctld (as host 'controller'), slurmd gpu001, from the rendered configs"
cp "$conf/slurm.conf" "$conf/gres.conf" "$conf/cgroup.conf" "$root/etc/slurm/"
[ "$id" = 0 ] || sed -i "s|File=/dev/nvidia0|File=/dev/nvidia$id|" "$root/etc/slurm/gres.conf"
cat "$root/etc/slurm/gres.conf"
echo "127.0.0.1 controller gpu001" >>"$root/etc/hosts"
head -c 1024 /dev/urandom >"$root/etc/munge/munge.key"
in_root hyperscaler-munge-restart || die "munged did not start"
# slurmctld runs only on the host slurm.conf names: a UTS namespace gives it that name.
as_host() { local name=$1; shift; unshare --uts chroot "$root" /bin/sh -c "hostname $name && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/sbin:/usr/local/bin $*"; }
as_host controller slurmctld -D >"$out/slurmctld.log" 2>&1 &
for _ in $(seq 1 100); do in_root scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
in_root scontrol ping || { tail -20 "$out/slurmctld.log"; die "slurmctld did not come up"; }
set -a; . "$conf/node.env"; set +a
slurmd_cmd="slurmd -D -Z -N gpu001 --conf-server $HYPERSCALER_CONF_SERVER --conf '$HYPERSCALER_NODE_CONF'"
registered() { for _ in $(seq 1 ${1:-75}); do in_root scontrol show node gpu001 >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
stop_slurmd() {
  for p in /proc/[0-9]*; do [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && grep -qa '^slurmd' "$p/cmdline" 2>/dev/null && kill "${p#/proc/}"; done
  sleep 1; in_root scontrol delete nodename=gpu001 2>/dev/null || true
}
cgroup_conf() { # the rendered cgroup.conf plus LINES, served by slurmctld (configless)
  { cat "$conf/cgroup.conf"; printf '%s\n' "$@"; } >"$root/etc/slurm/cgroup.conf" && in_root scontrol reconfigure
}
# What a node container sees of cgroups where the host has cgroup v2: Docker gives an
# unprivileged container a read-only cgroup2 of its own cgroup namespace. Does slurmd start there?
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  for extra in "" "IgnoreSystemd=yes"; do
    cgroup_conf $extra
    echo "-- slurmd under a read-only cgroup2 of its own namespace (an unprivileged container here), cgroup.conf +[${extra}]:"
    unshare --uts --cgroup --mount /bin/sh -c "umount -l $root/sys/fs/cgroup && mount -t cgroup2 -o ro nodecgroup $root/sys/fs/cgroup && hostname gpu001 && \
      exec chroot $root env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin $slurmd_cmd" >"$out/slurmd-cgroup2.log" 2>&1 &
    if registered 50; then echo "slurmd registered"; else echo "slurmd did not register:"; grep -iE 'error|mount' "$out/slurmd-cgroup2.log" | tail -4; fi
    stop_slurmd
  done
  # For the GPU checks, slurmd as on a host: the host's own cgroup tree, no systemd here.
  cgroup_conf "IgnoreSystemd=yes"
  mkdir -p /sys/fs/cgroup/system.slice
fi
# node_up SLURMD_CMD LOG: slurmd started as gpu001; fails unless it registers and goes idle.
node_up() {
  as_host gpu001 "$1" >"$2" 2>&1 &
  registered || { echo "gpu001 did not register"; return 1; }
  in_root scontrol update nodename=gpu001 nodeaddr=gpu001
  for _ in $(seq 1 150); do in_root sinfo -h -N -n gpu001 -o %t | grep -q idle && break; sleep 0.2; done
  in_root sinfo -N -o '%N %t %G %P' || true
  in_root scontrol show node gpu001 | grep -E 'Gres=|State=|Reason='
  in_root sinfo -h -N -n gpu001 -o %t | grep -q idle || { echo "gpu001 is not idle"; return 1; }
}
echo "-- slurmd with this host's cgroups:"
node_up "$slurmd_cmd" "$out/slurmd.log" || { tail -20 "$out/slurmd.log"; die "gpu001 is not up"; }

section "scripts/gpu-check.sh"
bash scripts/gpu-check.sh --exec "env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/sbin:/usr/local/bin chroot $root"
check=$?

section "GPU metrics (hyperscaler-gpu-metrics on the node)"
in_root env HYPERSCALER_GPU_COUNT=1 hyperscaler-gpu-metrics | tee "$out/gpu-metrics.prom"

section "AutoDetect=nvml (gpus.autoDetect: nvml): slurmd finds the GPU through NVML"
if ! in_root ldconfig -p | grep -q 'libnvidia-ml\.so'; then
  echo "skipped: no libnvidia-ml on the node's loader path (no driver here)"
else
  stop_slurmd
  cp "$conf/nvml/slurm.conf" "$conf/nvml/gres.conf" "$root/etc/slurm/" && in_root scontrol reconfigure
  cat "$root/etc/slurm/gres.conf"
  set -a; . "$conf/nvml/node.env"; set +a
  nvml=1
  # The GPU slurmd found, and a job that asks for it sees it.
  node_up "slurmd -D -Z -N gpu001 --conf-server $HYPERSCALER_CONF_SERVER --conf '$HYPERSCALER_NODE_CONF'" "$out/slurmd-nvml.log" &&
    in_root srun -w gpu001 --gres=gpu:1 sh -c 'echo "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"; nvidia-smi -L 2>/dev/null || true' && nvml=0
  grep -iE 'nvml|gres' "$out/slurmd-nvml.log" | tail -8
  [ "$nvml" = 0 ] && echo "nvml: the GPU found and given to a job" || { echo "nvml: FAILED"; check=1; }
fi
exit "$check"
