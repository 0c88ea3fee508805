#!/bin/sh
# hyperscaler-mariadb-set-password USER DATABASE < password
# Makes DATABASE and USER (from any host of the cluster network) owning it, and sets
# USER's password from stdin (never argv). Connections already open keep working, so a
# rotation does not cut slurmdbd off before it has the new password. Waits for the server.
set -eu
user=$1 db=$2
pw=$(cat)
case "$pw" in *[!A-Za-z0-9]*|"") echo "hyperscaler-mariadb-set-password: the password must be letters and digits" >&2; exit 65 ;; esac
i=0
until mariadb-admin ping --silent >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -le 600 ] || { echo "hyperscaler-mariadb-set-password: the server did not answer in 120 s" >&2; exit 1; }
  sleep 0.2
done
mariadb <<SQL
CREATE DATABASE IF NOT EXISTS \`$db\`;
CREATE USER IF NOT EXISTS '$user'@'%' IDENTIFIED BY '$pw';
ALTER USER '$user'@'%' IDENTIFIED BY '$pw';
GRANT ALL ON \`$db\`.* TO '$user'@'%';
SQL
echo "password of $user set; it owns $db"
