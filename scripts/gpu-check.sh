#!/usr/bin/env bash
# Checks a deployed cluster's GPUs the way its users will use them, from scripts/ of this repo:
#   bash scripts/with-env.sh bash scripts/gpu-check.sh --stack prod [--node gpu001]
# Through slurmctld, on one GPU node (the first with a gpu GRES, or --node):
#   1. a job given one GPU lists it with nvidia-smi -L;
#   2. a job given one GPU runs a CUDA computation on it (hyperscaler-cuda-check: 2^20
#      additions in a kernel the driver compiles, every sum checked) and sees that GPU alone;
#   3. a job given no GPU sees none in CUDA (the TaskProlog's CUDA_VISIBLE_DEVICES);
#   4. for the record, what nvidia-smi still lists to a job given no GPU: without a device
#      cgroup (unprivileged containers) the device files stay open to it.
# Exit 0 when 1-3 pass. --exec PREFIX runs SLURM's commands with that prefix instead of
# `docker exec` into the stack's controller (a cluster run without Docker).
set -euo pipefail
usage="usage: scripts/gpu-check.sh (--stack STACK | --exec PREFIX) [--node NODE]"
stack='' prefix='' node=''
while [ $# -gt 0 ]; do
  case "$1" in
    --help) echo "$usage"; exit 0 ;;
    --stack) stack=$2; shift 2 ;;
    --exec) prefix=$2; shift 2 ;;
    --node) node=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 64 ;;
  esac
done
if [ -n "$stack" ]; then
  # The controller's container and its engine's Docker host, as the manifest records them.
  read -r controller host < <(pulumi stack output manifest --stack "$stack" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=JSON.parse(s),c=m.controller.container;console.log(c,m.engines?.[c]?.dockerHost??"")})')
  prefix="docker ${host:+-H $host }exec -i $controller"
fi
[ -n "$prefix" ] || { echo "$usage" >&2; exit 64; }
slurm() { $prefix "$@"; }

if [ -z "$node" ]; then
  node=$(slurm sinfo -a -h -N -o '%N %G' | awk '$2 ~ /(^|,)gpu:/ { print $1; exit }')
  [ -n "$node" ] || { echo "gpu-check: no node with a gpu GRES (sinfo -N -o '%N %G'); give a node group gpus in the stack config" >&2; exit 65; }
fi
partition=$(slurm sinfo -a -h -N -n "$node" -o '%P' | tr -d '*' | head -1)
# job [SRUN_OPTION...] -- COMMAND...: the command's output (both streams), then srun's own messages.
# srun writes a task's stderr and its own errors from different threads, in either order.
job() {
  local options=() errors rc=0
  while [ "$1" != -- ]; do options+=("$1"); shift; done; shift
  errors=$(mktemp)
  slurm srun -p "$partition" -w "$node" --time=5 "${options[@]}" sh -c '"$@" 2>&1' job "$@" 2>"$errors" || rc=$?
  cat "$errors"; rm -f "$errors"
  return "$rc"
}
failed=0
step() { echo; echo "== $1"; }
fail() { echo "FAILED: $1"; failed=1; }

echo "gpu-check: node $node, partition $partition, $(slurm scontrol show node "$node" | grep -o 'Gres=[^ ]*')"
step "1. a job given one GPU: nvidia-smi -L"
if out=$(job --gres=gpu:1 -- nvidia-smi -L); then
  echo "$out"
  grep -q '^GPU [0-9]' <<<"$out" || fail "nvidia-smi listed no GPU"
else
  echo "$out"; fail "nvidia-smi did not run in the job (the node needs the driver's tools: gpus.access toolkit or cdi, or gpus.driverFiles)"
fi

step "2. a job given one GPU: a CUDA computation on it"
if out=$(job --gres=gpu:1 -- hyperscaler-cuda-check); then
  echo "$out"
  [ "$(grep -c '^cuda-check: GPU ' <<<"$out")" = 1 ] || fail "the job saw more than the one GPU it was given"
else
  echo "$out"; fail "the CUDA computation did not run"
fi

step "3. a job given no GPU: CUDA sees none"
rc=0; out=$(job -- hyperscaler-cuda-check) || rc=$?
echo "$out"
case "$rc" in
  2) ;;
  0) fail "a job given no GPU could use one" ;;
  *) fail "CUDA did not run (exit $rc), so this shows nothing" ;;
esac

step "4. a job given no GPU: what nvidia-smi still lists (device files are not confined)"
job -- nvidia-smi -L || true

echo
if [ "$failed" = 0 ]; then echo "gpu-check: passed on $node"; else echo "gpu-check: FAILED on $node"; fi
exit "$failed"
