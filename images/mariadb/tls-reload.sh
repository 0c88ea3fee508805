#!/bin/sh
# hyperscaler-tls-reload: a running MariaDB reads its certificate again (FLUSH SSL): new
# connections get the new one, open ones carry on. Nothing to do while it is not up yet
# (it reads the certificate when it starts).
set -eu
mariadb-admin ping --silent >/dev/null 2>&1 || exit 0
mariadb -e "FLUSH SSL"
