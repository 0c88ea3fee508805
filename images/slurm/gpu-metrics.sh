#!/bin/sh
# hyperscaler-gpu-metrics: this node's GPUs as Prometheus text, from nvidia-smi (Debian has
# no GPU exporter; DCGM's is NVIDIA's own). Runs in the metrics loop of a GPU node.
# hyperscaler_gpus_visible below hyperscaler_gpus_expected (nvidia-smi missing, failing or
# short of GPUs) is what the GpuMissing alert watches.
set -u
expected=${HYPERSCALER_GPU_COUNT:-0}
# The node's GPUs by number, as gres.conf names them: nvidia-smi lists each once.
out=$(nvidia-smi --query-gpu=index,uuid,name,temperature.gpu,utilization.gpu,memory.used,memory.total,power.draw \
  --format=csv,noheader,nounits 2>/dev/null) || out=""
printf '# HELP hyperscaler_gpus_expected GPUs the node group declares.\n# TYPE hyperscaler_gpus_expected gauge\nhyperscaler_gpus_expected %s\n' "$expected"
printf '%s\n' "$out" | awk -F', *' '
  function metric(name, help, value, scale) {
    if (value !~ /^[0-9.]+$/) return   # [N/A], [Not Supported]
    if (!(name in helped)) { helped[name] = 1; printf "# HELP %s %s\n# TYPE %s gauge\n", name, help, name }
    printf "%s{gpu=\"%s\",uuid=\"%s\",model=\"%s\"} %.15g\n", name, $1, $2, $3, value * scale
  }
  NF >= 8 {
    visible++
    metric("hyperscaler_gpu_temperature_celsius", "GPU core temperature.", $4, 1)
    metric("hyperscaler_gpu_utilization_ratio", "Share of time a kernel ran on the GPU.", $5, 0.01)
    metric("hyperscaler_gpu_memory_used_bytes", "GPU memory in use.", $6, 1048576)
    metric("hyperscaler_gpu_memory_total_bytes", "GPU memory.", $7, 1048576)
    metric("hyperscaler_gpu_power_watts", "GPU power draw.", $8, 1)
  }
  END { printf "# HELP hyperscaler_gpus_visible GPUs nvidia-smi answers for on this node.\n# TYPE hyperscaler_gpus_visible gauge\nhyperscaler_gpus_visible %d\n", visible }'
