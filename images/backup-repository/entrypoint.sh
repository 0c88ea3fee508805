#!/bin/sh
# The repository's SFTP server, once the stack has delivered its host key and the key
# pgBackRest logs in with (hyperscaler-install, at each up). Logs go to stderr (docker logs).
# As the shipper (HYPERSCALER_ROLE=shipper): the schedule that copies the file backups there.
set -eu
[ "${HYPERSCALER_ROLE:-repository}" != shipper ] || exec hyperscaler-backup-ship loop
chown repository:repository /repository
hyperscaler-wait-file "the SFTP server" /etc/hyperscaler/host_key /etc/hyperscaler/authorized_keys
exec /usr/sbin/sshd -D -e
