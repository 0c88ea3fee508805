# shellcheck shell=sh disable=SC2154 # dir, cluster, db, engine, ext, retain, dump: set by the sourcing script
# Shared by the database images' backup and restore tools (sourced, not run): how a
# verified backup is recorded, kept, published and checked before a restore. The engine's
# own tools (pg_dump, mariadb-dump) stay in each image's scripts.
# They set: dir (the backups), cluster, db, engine (postgres|mariadb), ext (dump|sql.gz),
# and define readable FILE (exit 0 when the engine can read the backup).

# backup_record FILE STAMP START TABLES: the record beside a good backup, the retention,
# the metrics of the newest good backup, and a line saying what was done.
backup_record() {
  file=$1 stamp=$2 start=$3 tables=$4
  size=$(stat -c %s "$file") sha=$(sha256sum "$file" | cut -d' ' -f1) now=$(date +%s)
  printf '{"file":"%s","database":"%s","cluster":"%s","time":"%s","epoch":%s,"sizeBytes":%s,"sha256":"%s","tables":%s,"seconds":%s}\n' \
    "$(basename "$file")" "$db" "$cluster" "$stamp" "$now" "$size" "$sha" "$tables" "$((now - start))" >"$file.json.partial"
  mv "$file.json.partial" "$file.json"
  # Retention: newest first, drop the rest (backup and record together).
  ls -1 "$dir/$db"-*."$ext" | sort -r | tail -n +"$((retain + 1))" | while read -r old; do rm -f "$old" "$old.json"; done
  m=hyperscaler_${engine}_backup
  printf '# HELP %s_last_success_timestamp_seconds Time of the newest verified backup.\n# TYPE %s_last_success_timestamp_seconds gauge\n%s_last_success_timestamp_seconds{database="%s"} %s\n# HELP %s_size_bytes Size of the newest verified backup.\n# TYPE %s_size_bytes gauge\n%s_size_bytes{database="%s"} %s\n' \
    "$m" "$m" "$m" "$db" "$now" "$m" "$m" "$m" "$db" "$size" | hyperscaler-textfile "backup-$db"
  echo "backup $(basename "$file"): $size bytes, sha256 $sha, $tables tables, verified in $((now - start))s"
}

# backup_problem FILE: why FILE cannot be restored into $db here; nothing when it can.
backup_problem() {
  [ -f "$1" ] || { echo "no backup file $1 (list them: ls $dir)"; return; }
  [ -f "$1.json" ] || { echo "$1 has no record ($1.json): it was not written or verified by hyperscaler's backup tool"; return; }
  field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$2.json"; }
  [ "$(field cluster "$1")" = "$cluster" ] || { echo "$1 is from cluster '$(field cluster "$1")', this is '$cluster'"; return; }
  [ "$(field database "$1")" = "$db" ] || { echo "$1 is a backup of '$(field database "$1")', not '$db'"; return; }
  [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$(field sha256 "$1")" ] || { echo "$1 is corrupt: its sha256 differs from the one recorded at backup time"; return; }
  readable "$1" || echo "$1 is not a readable $engine backup"
}

# backup_choose WHICH: the backup file WHICH names (newest, a file in $dir, or a path),
# refusing one that cannot be restored. Sets dump.
backup_choose() {
  if [ "$1" = newest ]; then
    dump=$(ls -1 "$dir/$db"-*."$ext" 2>/dev/null | sort -r | head -n 1)
    [ -n "$dump" ] || backup_refuse "no backup of $db in $dir"
  else
    case "$1" in /*) dump=$1 ;; *) dump="$dir/$1" ;; esac
  fi
  why=$(backup_problem "$dump")
  [ -z "$why" ] || backup_refuse "$why"
}

# backup_refuse WHY: says why nothing changed and names the newest backup that would restore.
backup_refuse() {
  good=
  for f in $(ls -1 "$dir/$db"-*."$ext" 2>/dev/null | sort -r); do
    [ "$f" != "${dump:-}" ] && [ -z "$(backup_problem "$f")" ] && { good=$f; break; }
  done
  echo "$(basename "$0"): refused, nothing changed: $*" >&2
  if [ -n "$good" ]; then echo "  the newest good backup of $db is $(basename "$good"): $(basename "$0") $db $(basename "$good")" >&2
  else echo "  no other good backup of $db in $dir" >&2; fi
  exit 65
}
