#!/bin/sh
# Starts MariaDB on the data volume (a new volume gets a new database, root reachable only
# over the local socket), the backup schedule, and the exporters. The mysqld exporter's
# password is made here at each start and never leaves the container. With
# HYPERSCALER_DATABASE_TLS=1 (a stack with a CA) it takes TCP clients over TLS only, with
# the certificate hyperscaler-tls-install puts in /etc/hyperscaler/tls, and waits for it first.
set -eu
data=/var/lib/mysql
# A volume written by another image's mysql user is handed over whole.
for d in "$data" /backups; do
  [ "$(stat -c %u "$d")" = "$(id -u mysql)" ] || chown -R mysql:mysql "$d"
done
if [ ! -d "$data/mysql" ]; then
  mariadb-install-db --user=mysql --datadir="$data" --auth-root-authentication-method=socket --skip-test-db >/dev/null
  echo "hyperscaler: initialised a new database in $data"
fi
set --
if [ "${HYPERSCALER_DATABASE_TLS:-}" = 1 ]; then
  tls=/etc/hyperscaler/tls
  hyperscaler-wait-file MariaDB "$tls/server.pem"
  # One file holds the certificate and its key (hyperscaler-tls-install); FLUSH SSL reads it again.
  # The local socket counts as secure: the backups and the exporter use it.
  set -- --ssl-cert="$tls/server.pem" --ssl-key="$tls/server.pem" --ssl-ca="$tls/ca.pem" --require-secure-transport=ON
fi
mariadbd --user=mysql --datadir="$data" "$@" &
server=$!
until mariadb-admin ping --silent >/dev/null 2>&1; do
  kill -0 "$server" 2>/dev/null || { echo "hyperscaler: mariadbd exited during start" >&2; exit 1; }
  sleep 0.2
done
# Data of an older MariaDB (10.11 before Debian 13) is upgraded in place: its system
# tables first, as MariaDB's own tool does it; a no-op once done (mariadb_upgrade_info).
mariadb-upgrade --silent | sed 's/^/hyperscaler: mariadb-upgrade: /'
pw=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
mariadb -e "CREATE USER IF NOT EXISTS 'exporter'@'localhost'; ALTER USER 'exporter'@'localhost' IDENTIFIED BY '$pw' WITH MAX_USER_CONNECTIONS 3; GRANT PROCESS, REPLICATION CLIENT, SELECT ON *.* TO 'exporter'@'localhost'"
umask 077
printf '[client]\nuser=exporter\npassword=%s\nsocket=/run/mysqld/mysqld.sock\n' "$pw" >/run/mysqld/exporter.cnf
chown prometheus /run/mysqld/exporter.cnf
umask 022
hyperscaler-backup-loop hyperscaler-mariadb-backup &
hyperscaler-node-exporter &
runuser -u prometheus -- prometheus-mysqld-exporter --config.my-cnf=/run/mysqld/exporter.cnf --web.listen-address=:9104 --log.level=warn &
wait "$server"
