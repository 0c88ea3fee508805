#!/bin/sh
# (Re)starts munged with the key now in /etc/munge/munge.key. munged reads its key only
# at start, so a rotation writes the key, then runs this; slurmd and slurmctld reconnect
# to the socket on their next request. Prints the key's fingerprint; exits non-zero if the
# new daemon cannot encode and decode a credential.
set -eu
key=/etc/munge/munge.key
chown munge:munge "$key"; chmod 0400 "$key"
if [ -s /run/munge/munged.pid ] && kill "$(cat /run/munge/munged.pid)" 2>/dev/null; then
  i=0; while [ -S /run/munge/munge.socket.2 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
fi
rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock /run/munge/munged.pid
runuser -u munge -- /usr/sbin/munged --force
i=0; until munge -n </dev/null | unmunge >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 50 ] || { echo "munged did not come up with the new key" >&2; exit 1; }; sleep 0.1
done
echo "munge key sha256:$(sha256sum "$key" | cut -c1-16)"
