#!/bin/sh
# The repository's SFTP server, once the stack has delivered its host key and the key
# pgBackRest logs in with (hyperscaler-install, at each up). Logs go to stderr (docker logs).
# As the shipper (HYPERSCALER_ROLE=shipper): the schedule that copies the file backups there,
# and Debian's node exporter on :9100 (the platform network only; never published) serving
# its metrics. It runs as the shipper does: the container has no capability to switch users.
set -eu
if [ "${HYPERSCALER_ROLE:-repository}" = shipper ]; then
  metrics=/var/lib/hyperscaler/metrics
  mkdir -p "$metrics"
  prometheus-node-exporter --web.listen-address=:9100 --collector.textfile.directory="$metrics" \
    --no-collector.systemd --log.level=warn &
  exec hyperscaler-backup-ship loop
fi
chown repository:repository /repository
hyperscaler-wait-file "the SFTP server" /etc/hyperscaler/host_key /etc/hyperscaler/authorized_keys
exec /usr/sbin/sshd -D -e
