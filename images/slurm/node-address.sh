#!/bin/sh
# hyperscaler-node-address [--print]   (runs on a compute node)
# Where slurmctld reaches this node: its name, resolved at each use
# (CommunicationParameters=NoAddrCache), or on several workstations, where no engine's DNS
# knows every node (HYPERSCALER_REGISTER_ADDRESS=1), the container's own IP. Sets it in
# slurmctld (a dynamic node keeps the address of its first registration: the entrypoint
# sets it at each start, platform-restore after slurmctld came back on an older state);
# --print only prints it.
set -eu
if [ "${HYPERSCALER_REGISTER_ADDRESS:-}" = 1 ]; then address=$(hostname -i | cut -d' ' -f1); else address=$(hostname); fi
if [ "${1:-}" = --print ]; then echo "$address"; exit 0; fi
scontrol update nodename="$(hostname)" nodeaddr="$address"
echo "$(hostname): slurmctld reaches it at $address"
