#!/bin/sh
# Prints the release each of a stack's data volumes was written by, one line each, for the
# volumes mounted (read-only) at /d/slurm (slurmctld state), /d/postgres (PostgreSQL data)
# and /d/mariadb (MariaDB data):
#   slurm <protocol>       SLURM_PROTOCOL_VERSION of slurmctld's state (24.11: 10752 = 42 << 8)
#   postgres <major>       PG_VERSION
#   mariadb <version>      the MariaDB that last opened (upgraded) the data
#   mariadb-accounting     SLURM's accounting database is in it
# Run in a throwaway container of the base image by preflight and by
# scripts/upgrade-from-debian12.sh, so both read the data the same way.
# slurmctld's state files begin with packstr("PROTOCOL_VERSION") (4 + 17 bytes), then the
# 16-bit protocol version.
for f in /d/slurm/node_state /d/slurm/job_state; do
  if [ -s "$f" ]; then printf 'slurm %d\n' "$(od -An -tu1 -j21 -N2 "$f" | awk '{print $1 * 256 + $2}')"; break; fi
done
[ ! -s /d/postgres/PG_VERSION ] || printf 'postgres %s\n' "$(cat /d/postgres/PG_VERSION)"
for f in /d/mariadb/mariadb_upgrade_info /d/mariadb/mysql_upgrade_info; do
  if [ -s "$f" ]; then printf 'mariadb %s\n' "$(cut -d- -f1 "$f")"; break; fi
done
[ ! -d /d/mariadb/slurm_acct_db ] || echo mariadb-accounting
