#!/bin/sh
# hyperscaler-pg-set-password ROLE [DATABASE] < password
# Creates ROLE (LOGIN) if needed, sets its password from stdin, and creates DATABASE owned
# by it if given and missing; no other role may connect to DATABASE. The password reaches psql through a file only postgres can
# read (never argv, env or the server log).
set -eu
role=$1 db=${2:-}
pw=$(mktemp /run/postgresql/.pw.XXXXXX)
trap 'rm -f "$pw"' EXIT
cat >"$pw"; chown postgres "$pw"; chmod 0400 "$pw"
[ -s "$pw" ] || { echo "hyperscaler-pg-set-password: empty password for $role" >&2; exit 65; }
i=0; until runuser -u postgres -- pg_isready -q; do i=$((i + 1)); [ $i -lt 120 ] || { echo "postgres is not accepting connections" >&2; exit 1; }; sleep 0.5; done
printf '%s\n' \
  "\\set ON_ERROR_STOP on" \
  "SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec" \
  "SET log_statement = 'none';" "SET log_min_error_statement = 'panic';" \
  "\\set password \`cat $pw\`" \
  "SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'password') \\gexec" |
  runuser -u postgres -- psql -q -X -v role="$role" >/dev/null
if [ -n "$db" ]; then
  printf '%s\n' "\\set ON_ERROR_STOP on" \
    "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec" \
    "SELECT format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', :'db') \\gexec" |
    runuser -u postgres -- psql -q -X -v role="$role" -v db="$db" >/dev/null
fi
echo "$role: password set${db:+, database $db}"
