#!/bin/sh
# hyperscaler-mariadb-restore DATABASE [BACKUP|newest] [--into NEW_DATABASE]
# Restores a verified backup. Refuses, changing nothing, a backup that is missing, has no
# record, fails its checksum, or comes from another cluster. The restore goes into a new
# database first; only when it succeeds are DATABASE's tables swapped for it (one RENAME
# TABLE), and the previous ones are kept in DATABASE_before_<time> (drop it once
# satisfied). With --into, the backup goes to NEW_DATABASE and DATABASE is not touched.
# Stop what writes to DATABASE first (for accounting: slurmdbd's container).
# shellcheck disable=SC2034 # dir, cluster, engine, ext, retain: read by backup-lib.sh
set -eu
db=$1 which=${2:-newest} into=
[ "${3:-}" = "--into" ] && into=${4:?--into needs a database name}
dir=/backups cluster=${HYPERSCALER_CLUSTER:?set HYPERSCALER_CLUSTER} engine=mariadb ext=sql.gz
# shellcheck source=../common/backup-lib.sh
. /usr/local/lib/hyperscaler/backup-lib.sh
readable() { gunzip -t "$1" 2>/dev/null; }
backup_choose "$which"
target=${into:-"hs_restore_$(date +%s)_$$"}
mariadb -e "CREATE DATABASE \`$target\`"
if ! gunzip -c "$dump" | mariadb "$target" 2>/tmp/restore.err; then
  [ -n "$into" ] || mariadb -e "DROP DATABASE IF EXISTS \`$target\`"
  backup_refuse "restore failed: $(head -c 500 /tmp/restore.err)"
fi
if [ -n "$into" ]; then echo "restored $(basename "$dump") into $into ($db untouched)"; exit 0; fi
kept="${db}_before_$(date -u +%Y%m%dT%H%M%SZ)"
renames() { # FROM TO: one RENAME TABLE clause list moving every table of FROM into TO
  mariadb -N -e "SELECT GROUP_CONCAT(CONCAT('\`$1\`.\`', table_name, '\` TO \`$2\`.\`', table_name, '\`') SEPARATOR ', ') FROM information_schema.tables WHERE table_schema = '$1'"
}
mariadb -e "CREATE DATABASE IF NOT EXISTS \`$db\`; CREATE DATABASE \`$kept\`"
old=$(renames "$db" "$kept") new=$(renames "$target" "$db")
# One statement: the swap is atomic to every client.
mariadb -e "RENAME TABLE ${old:+$old, }$new; DROP DATABASE \`$target\`"
echo "restored $(basename "$dump") into $db; the previous $db is kept as $kept"
