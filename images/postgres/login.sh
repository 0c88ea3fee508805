#!/bin/sh
# hyperscaler-pg-login ROLE DATABASE < password
# Logs in as ROLE over TCP with password authentication, the way an application does, and
# prints who it is. The password comes on stdin and reaches psql in a private pgpass file
# (never argv or env). Where the server has the stack's CA, the login checks the server's
# certificate against it (verify-full; PGSSLMODE overrides). Exits non-zero, with the
# server's reason, when the login fails.
set -eu
ca=/etc/hyperscaler/tls/ca.pem
[ ! -s "$ca" ] || export PGSSLMODE="${PGSSLMODE:-verify-full}" PGSSLROOTCERT="$ca"
role=$1 db=$2
pass=$(mktemp); trap 'rm -f "$pass"' EXIT
{ printf '127.0.0.1:5432:%s:%s:' "$db" "$role"; head -n 1; } >"$pass"
PGPASSFILE=$pass psql -X -w -At -h 127.0.0.1 -U "$role" -d "$db" \
  -c "SELECT format('login ok: %s on %s (%s%s)', current_user, current_database(), split_part(version(), ' ', 2),
      (SELECT ', ' || version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl))"
