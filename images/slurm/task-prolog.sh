#!/bin/sh
# hyperscaler-task-prolog: slurm.conf's TaskProlog on every node of a cluster with GPUs;
# slurmstepd runs it as the job's user before each task and applies the `export` lines it
# prints. gres/gpu sets CUDA_VISIBLE_DEVICES only for a task given GPUs; without a device
# cgroup (unprivileged containers) a task given none could still use every GPU of its
# node, so it is told to see none. CUDA and the frameworks on it honour this; a program
# that opens /dev/nvidia* itself (nvidia-smi does) is not stopped: see performance-tuning.md.
if [ -z "${CUDA_VISIBLE_DEVICES+set}" ]; then
  echo "export CUDA_VISIBLE_DEVICES="
fi
