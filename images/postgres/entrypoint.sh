#!/bin/sh
# Starts PostgreSQL on the data volume. A new volume is initialised with the superuser
# password delivered by `docker exec` (never an env var: those show in `docker inspect`).
# With HYPERSCALER_DATABASE_TLS=1 (a stack with a CA) it serves TLS only, with the
# certificate hyperscaler-tls-install puts in /etc/hyperscaler/tls, and waits for it first.
set -eu
pwfile=/run/hyperscaler/superuser-password
waited=0
until [ -s "$pwfile" ] || [ -s "$PGDATA/PG_VERSION" ]; do
  [ $((waited % 60)) -eq 0 ] && echo "hyperscaler: waiting for $pwfile (${waited}s)"
  sleep 1; waited=$((waited + 1))
done
# A volume written by another image's postgres user (another uid: Debian's package vs the
# official image's 999) is handed over whole, or the server could not read its files.
for d in "$PGDATA" /backups; do
  [ "$(stat -c %u "$d")" = "$(id -u postgres)" ] || chown -R postgres:postgres "$d"
done
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # Read by the postgres user only for initdb, then gone.
  install -o postgres -m 0400 "$pwfile" /run/postgresql/.pw
  runuser -u postgres -- initdb --username=postgres --pwfile=/run/postgresql/.pw \
    --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f /run/postgresql/.pw
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "hyperscaler: initialised a new database cluster in $PGDATA"
fi
# Who may log in, written at each start (the volume's own pg_hba.conf is not read): over the
# socket as the same user; over TCP with a password, only from the networks the server is
# on (samenet: the cluster's bridge and the loopback), and where the stack has a CA, only
# over TLS. Anything else is refused ("no pg_hba.conf entry").
set -- -D "$PGDATA" -c hba_file=/etc/hyperscaler/pg_hba.conf
tcp=host
if [ "${HYPERSCALER_DATABASE_TLS:-}" = 1 ]; then
  tls=/etc/hyperscaler/tls
  hyperscaler-wait-file PostgreSQL "$tls/server.pem"
  # One file holds the certificate and its key (hyperscaler-tls-install); a reload reads it again.
  set -- "$@" -c ssl=on -c ssl_cert_file="$tls/server.pem" -c ssl_key_file="$tls/server.pem"
  tcp=hostssl
fi
# Continuous archiving: each WAL file goes to the pgBackRest repository as it is done
# (hyperscaler-pg-pitr configure installs the repository's config and archive_timeout);
# until it answers, PostgreSQL keeps the files and retries.
set -- "$@" -c archive_mode=on -c "archive_command=pgbackrest --stanza=$HYPERSCALER_CLUSTER archive-push %p"
mkdir -p /etc/hyperscaler
printf 'local all all peer\n%s all all samenet scram-sha-256\n' "$tcp" >/etc/hyperscaler/pg_hba.conf
hyperscaler-backup-loop hyperscaler-pg-backup &
hyperscaler-pg-pitr loop &
hyperscaler-node-exporter &
# The exporter logs in over the local socket as the superuser (peer authentication): it
# holds no password, so a password rotation never has to reach it.
runuser -u postgres -- env DATA_SOURCE_NAME="host=/run/postgresql user=postgres dbname=postgres sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address=:9187 --log.level=warn &
# setpriv execs (runuser would fork and keep the signal docker stop sends from the server).
exec setpriv --reuid=postgres --regid=postgres --init-groups -- postgres "$@"
