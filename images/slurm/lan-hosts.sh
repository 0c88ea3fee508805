#!/bin/bash
# hyperscaler-lan-hosts [--apply]: names for the LAN's addresses, in /etc/hosts ahead of DNS
# (on several workstations; components/config/workstations.ts says why SLURM needs them).
# With no argument, the lines on stdin join the kept ones, in the container's own layer,
# which outlives a restart, and are applied; --apply applies the kept ones: the entrypoint's,
# at each start, since Docker writes /etc/hosts anew then. Names are only added: a removed
# workstation's nodes are drained after every node has the new lines, and still send
# requests until then; a name for an address no one has is harmless.
set -euo pipefail
kept=/etc/hyperscaler/lan-hosts
if [ "${1:-}" != --apply ]; then
  # The new lines first: a name given anew (the controller's) takes its new address.
  { cat; [ ! -e "$kept" ] || cat "$kept"; } | awk '!seen[$2]++' | hyperscaler-install "$kept" 0644 root:root
fi
[ -e "$kept" ] || exit 0
begin='# hyperscaler: LAN names' end='# hyperscaler: end of LAN names'
new=$(sed "/^$begin\$/,/^$end\$/d" /etc/hosts; echo "$begin"; cat "$kept"; echo "$end")
# /etc/hosts is Docker's bind mount: written in place, not replaced.
printf '%s\n' "$new" >/etc/hosts
