#!/usr/bin/env bash
# Lists this host's NVIDIA driver files for a node group's gpus.driverFiles (access:
# devices, for a host without the NVIDIA container toolkit): the user-space driver
# libraries CUDA and nvidia-smi load, and nvidia-smi itself. Run it on the Docker host:
#   bash scripts/gpu-driver-files.sh            # YAML, to paste under gpus:
# They must come from the host because they must match its kernel driver.
set -euo pipefail
# What the toolkit mounts for the compute and utility capabilities.
libraries='libcuda|libcudadebugger|libnvidia-ml|libnvidia-ptxjitcompiler|libnvidia-nvvm|libnvidia-gpucomp|libnvidia-allocator|libnvidia-cfg|libnvidia-opencl|libnvidia-pkcs11'
# Where the loader finds them: its cache, LD_LIBRARY_PATH, and the driver's usual homes.
dirs=$( { ldconfig -p 2>/dev/null | awk -F'=> ' '/=>/ { print $2 }' | xargs -r -n1 dirname
          tr ':' '\n' <<<"${LD_LIBRARY_PATH:-}"
          printf '%s\n' /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; } | awk 'NF && !seen[$0]++')
files=()
for dir in $dirs; do
  [ -d "$dir" ] || continue
  while IFS= read -r f; do files+=("$f"); done < <(find "$dir" -maxdepth 1 -type f -regextype posix-extended \
    -regex ".*/($libraries)\.so\.[0-9.]+" 2>/dev/null | sort)
done
# nvidia-smi where a job's PATH finds it.
smi=$(command -v nvidia-smi || true)
if [ -n "$smi" ]; then
  smi=$(readlink -f "$smi")
  if [ "$smi" = /usr/bin/nvidia-smi ]; then files+=("$smi"); else files+=("$smi:/usr/bin/nvidia-smi"); fi
fi
if [ "${#files[@]}" = 0 ]; then
  echo "gpu-driver-files: no NVIDIA driver library found here (ldconfig -p | grep libcuda); is the driver installed?" >&2
  exit 1
fi
# Each real file once (a directory can be listed twice through a link).
echo "driverFiles:"
printf '%s\n' "${files[@]}" | awk '!seen[$0]++ { print "  - " $0 }'
