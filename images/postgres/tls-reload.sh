#!/bin/sh
# hyperscaler-tls-reload: a running PostgreSQL reads its certificate again (SIGHUP): new
# connections get the new one, open ones carry on. Nothing to do while it is not up yet
# (it reads the certificate when it starts).
set -eu
runuser -u postgres -- pg_isready -q -h /run/postgresql || exit 0
runuser -u postgres -- pg_ctl reload -s -D "$PGDATA"
