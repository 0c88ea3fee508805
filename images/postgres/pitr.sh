#!/bin/sh
# hyperscaler-pg-pitr: PostgreSQL's continuous archiving and point-in-time restore, with
# pgBackRest (its repository, a directory per key epoch encrypted with the stack's key: in
# /backups/pgbackrest here, or on the stack's backup repository: over SFTP, or an S3 bucket).
#   configure WAL_MAX_DELAY_SEC INTERVAL_MIN FULL_EVERY_DAYS < confs
#       (the stack, at each up) installs the pgBackRest config (stdin: the current repository's,
#       then, after a line "#previous", the one the key rotation before it left, then, after a
#       line "#sftp-key", the key that logs in to the backup repository, and after "#s3-ca",
#       the CA of the S3 endpoint, each if any; secret),
#       sets archive_timeout, creates the stanza, checks that WAL reaches the repository,
#       and takes a full backup when the repository has none.
#   backup [auto|full|diff|incr]   one backup (auto: full once the newest is FULL_EVERY_DAYS old, else diff)
#   loop                           the schedule: metrics every 30 s, a backup once the newest is INTERVAL_MIN old
#   window [TIME]                  ships the WAL written so far and prints the window a restore
#                                  can reach; with TIME, refuses (exit 65) a time outside it
#   confs                          prints the installed configs (secret: for a restore's one-off container)
#   restore TIME|latest            in a one-off container with the server stopped, its data at
#                                  $PGDATA and an empty volume at /before: keeps the data as it
#                                  is in /before, restores to just before TIME (latest: every WAL
#                                  file held) and replays there; on failure the data goes back (stdin: confs)
set -eu
stanza=${HYPERSCALER_CLUSTER:?set HYPERSCALER_CLUSTER}
conf=/etc/pgbackrest/pgbackrest.conf previous=/etc/pgbackrest/previous.conf sftp_key=/etc/pgbackrest/sftp-key s3_ca=/etc/pgbackrest/s3-ca.pem
settings=/etc/hyperscaler/pitr.conf
pgbr() { runuser -u postgres -- pgbackrest --stanza="$stanza" "$@"; }
sql() { runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -h /run/postgresql -d postgres "$@"; }
refuse() { echo "hyperscaler-pg-pitr: refused, nothing changed: $*" >&2; exit 65; }
utc() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S UTC'; }
# repo_of CONF: where CONF's repository is.
repo_of() { sed -n 's/^repo1-path=//p' "$1"; }
# header NAME TYPE HELP: a metric's HELP and TYPE lines.
header() { printf '# HELP %s %s\n# TYPE %s %s\n' "$1" "$3" "$1" "$2"; }
# brief < pgbackrest's output: its error in one line, and what a repository that cannot be read means.
brief() {
  out=$(cat) hint=
  if printf '%s' "$out" | grep -q 'FormatError\|CryptoError'; then hint=" (the key does not read the repository: a wrong key, or another stack's repository)"; fi
  echo "$(printf '%s' "$out" | grep -m 1 -o 'ERROR: \[[0-9]*\]: .*' | cut -c 1-200)$hint"
}

# stage_confs < confs, then commit_confs: the current config, the previous one, the SFTP
# key and the S3 endpoint's CA (each if any), readable by postgres only.
stage_confs() {
  mkdir -p /etc/pgbackrest
  umask 077
  awk -v cur="$conf.new" -v prev="$previous.new" -v key="$sftp_key.new" -v ca="$s3_ca.new" 'BEGIN { out = cur; printf "" > prev; printf "" > key; printf "" > ca }
    /^#previous$/ { out = prev; next } /^#sftp-key$/ { out = key; next } /^#s3-ca$/ { out = ca; next } { print > out }'
}
commit_confs() {
  for f in "$conf" "$previous" "$sftp_key" "$s3_ca"; do
    chown root:postgres "$f.new"; chmod 0640 "$f.new"; mv "$f.new" "$f"
    [ "$f" = "$conf" ] || [ -s "$f" ] || rm -f "$f"
  done
}
# remote CONF: whether CONF's repository is off this workstation (over SFTP, or S3), not a local directory.
remote() { grep -q '^repo1-type=\(sftp\|s3\)$' "$1"; }

# info [CONF]: the stanza's backups in the repository CONF names, as JSON (one stanza).
info() { pgbr --config="${1:-$conf}" info --output=json | jq '.[0]'; }

# window_of CONF: "START END" (epochs) a restore from CONF's repository can reach: from the
# end of its oldest backup to the newest WAL it holds (the time of its newest archived file,
# as the repository's host dates it).
window_of() {
  i=$(info "$1") || return 1
  start=$(printf '%s' "$i" | jq -r '[.backup[].timestamp.stop] | min // empty')
  [ -n "$start" ] || return 1
  end=$(pgbr --config="$1" repo-ls --recurse --output=json "archive/$stanza" |
    jq -r '[to_entries[] | select(.value.type == "file" and (.key | split("/") | last | startswith("0"))) | .value.time] | max // empty')
  echo "$start ${end:-$start}"
}

# foreign: why this server's WAL cannot go to the repository (it holds another database
# cluster's backups: the data volume was lost and initialised anew); nothing when it can.
foreign() {
  theirs=$(info 2>/dev/null | jq -r '.db[-1]["system-id"] // empty') || return 0
  ours=$(pg_controldata -D "$PGDATA" 2>/dev/null | sed -n 's/^Database system identifier: *//p')
  [ -z "$theirs" ] || [ -z "$ours" ] || [ "$theirs" = "$ours" ] ||
    echo "the repository holds the backups of database system $theirs, and this server is a new one ($ours): its WAL is not archived until it is restored from the repository (scripts/pg-pitr.sh restore --to latest) or a new repository is started (bump hyperscaler:rotation.pitrKeyEpoch)"
}

metrics() {
  m=hyperscaler_pgbackrest
  {
    # Up: the repository holds the stanza and the key reads it (0: ok, 2: no backup yet).
    if i=$(info 2>/dev/null) && printf '%s' "$i" | jq -e '.repo[0].status.code | IN(0, 2)' >/dev/null; then up=1; else up=0; i='{"backup":[]}'; fi
    header "${m}_repository_up" gauge "Whether the backup repository answers (pgbackrest info)."
    echo "${m}_repository_up $up"
    header "${m}_backup_last_success_timestamp_seconds" gauge "End of the newest backup of each type."
    printf '%s' "$i" | jq -r --arg m "$m" '.backup | group_by(.type)[] | "\($m)_backup_last_success_timestamp_seconds{type=\"\(.[0].type)\"} \(map(.timestamp.stop) | max)"'
    header "${m}_window_start_timestamp_seconds" gauge "The oldest moment a restore can reach (end of the oldest backup)."
    printf '%s' "$i" | jq -r --arg m "$m" '[.backup[].timestamp.stop] | min // empty | "\($m)_window_start_timestamp_seconds \(.)"'
    # PostgreSQL's own account of archiving (pg_stat_archiver) and the WAL files waiting for it.
    a=hyperscaler_postgres_wal_archive
    sql -F ' ' -c "SELECT archived_count, failed_count, coalesce(extract(epoch FROM last_archived_time)::bigint, 0), coalesce(extract(epoch FROM last_failed_time)::bigint, 0) FROM pg_stat_archiver" |
      while read -r archived failed last_ok last_failed; do
        header "${a}_archived_total" counter "WAL files archived."; echo "${a}_archived_total $archived"
        header "${a}_failures_total" counter "Failed attempts to archive a WAL file."; echo "${a}_failures_total $failed"
        header "${a}_last_success_timestamp_seconds" gauge "When the newest WAL file was archived (0: never)."; echo "${a}_last_success_timestamp_seconds $last_ok"
        header "${a}_last_failure_timestamp_seconds" gauge "When archiving last failed (0: never)."; echo "${a}_last_failure_timestamp_seconds $last_failed"
      done
    header "${a}_pending_files" gauge "WAL files written and not yet archived."
    echo "${a}_pending_files $(find "$PGDATA/pg_wal/archive_status" -name '*.ready' 2>/dev/null | wc -l)"
  } | hyperscaler-textfile pitr
}

backup() {
  type=${1:-auto}
  if [ "$type" = auto ]; then
    FULL_EVERY_DAYS=7
    # shellcheck source=/dev/null # written by configure
    [ -f "$settings" ] && . "$settings"
    newest=$(info | jq -r '[.backup[] | select(.type == "full") | .timestamp.stop] | max // 0')
    if [ $(($(date +%s) - newest)) -ge $((FULL_EVERY_DAYS * 86400)) ]; then type="full"; else type="diff"; fi
  fi
  start=$(date +%s)
  pgbr backup --type="$type"
  metrics
  label=$(info | jq -r '.backup[-1].label')
  echo "backup $label ($type) in $(($(date +%s) - start))s; window now $(window_of "$conf" | { read -r s e; echo "$(utc "$s") to $(utc "$e")"; })"
}

case "${1:-}" in
configure)
  wal_delay=$2 interval=$3 full_days=$4
  stage_confs
  # A key rotation: what was written so far goes to the old repository first, so that its
  # window reaches up to the rotation.
  was=$(repo_of "$conf" 2>/dev/null || true)
  if [ -n "$was" ] && [ "$was" != "$(repo_of "$conf.new")" ] && [ -z "$(foreign)" ]; then
    pgbr check >/dev/null || echo "hyperscaler-pg-pitr: WARNING: the last WAL before the rotation did not reach $was" >&2
  fi
  commit_confs
  mkdir -p /etc/hyperscaler
  printf 'INTERVAL_MIN=%s\nFULL_EVERY_DAYS=%s\n' "$interval" "$full_days" >"$settings"
  # An idle database still ships what it wrote within WAL_MAX_DELAY_SEC: the RPO.
  sql -c "ALTER SYSTEM SET archive_timeout = '${wal_delay}s'" -c "SELECT pg_reload_conf()" >/dev/null
  # A new, empty server beside the backups of the one it replaces: the backups are kept as
  # they are, for the restore that brings the data back (archiving fails until then: alerts).
  why=$(foreign)
  if [ -n "$why" ]; then echo "hyperscaler-pg-pitr: WARNING: $why" >&2; metrics; exit 0; fi
  if ! out=$(pgbr stanza-create 2>&1); then
    echo "hyperscaler-pg-pitr: the repository $(repo_of "$conf") does not take this server's backups: $(printf '%s' "$out" | brief)" >&2
    exit 1
  fi
  pgbr check
  [ "$(info | jq '.backup | length')" -gt 0 ] || backup full
  # Repositories of keys rotated out before the previous one: unreadable without their key.
  # (On the backup repository container, the stack removes them there; in an S3 bucket they
  # stay until a lifecycle rule or the operator removes them; one left here from before the
  # backups moved off this workstation stays until removed by hand.)
  if ! remote "$conf"; then
    keep=$(repo_of "$conf")
    [ ! -s "$previous" ] || keep="$keep $(repo_of "$previous")"
    for r in /backups/pgbackrest/key*; do
      case " $keep " in *" $r "*) ;; *) [ -d "$r" ] && rm -rf "$r" && echo "removed $r: its key was rotated out twice" ;; esac
    done
  fi
  metrics
  ;;
backup) backup "${2:-auto}" ;;
loop)
  # By the newest backup's age, not the container's: a restarted container keeps the schedule.
  # Every 30 s: the archiving alerts read these metrics, so the loop's period adds to their delay.
  while :; do
    sleep 30
    INTERVAL_MIN=1440
    # shellcheck source=/dev/null # written by configure
    [ -f "$settings" ] && . "$settings"
    if [ -s "$conf" ] && [ -z "$(foreign)" ]; then
      newest=$(info 2>/dev/null | jq -r '[.backup[].timestamp.stop] | max // 0') || newest=0
      if [ $(($(date +%s) - ${newest:-0})) -ge $((INTERVAL_MIN * 60)) ]; then
        backup auto || echo "hyperscaler: scheduled pgBackRest backup failed" >&2
      fi
    fi
    metrics || true
  done
  ;;
window)
  # A running server first ships what it wrote so far: "now" is then in the window.
  if [ -S /run/postgresql/.s.PGSQL.5432 ] && [ -z "$(foreign)" ]; then
    out=$(pgbr check 2>&1) || refuse "the repository does not take the WAL written so far, so it cannot reach now: $(printf '%s' "$out" | brief)"
  fi
  cur=$(window_of "$conf") || refuse "the repository $(repo_of "$conf") holds no backup of '$stanza' this key can read"
  prev=
  if [ -s "$previous" ]; then prev=$(window_of "$previous" 2>/dev/null) || prev=; fi
  read -r start end <<EOF
${prev:-$cur}
EOF
  end=${cur#* }
  range="$(utc "$start") to $(utc "$end")"
  if [ "${2:-}" = latest ]; then echo "repository: current"
  elif [ -n "${2:-}" ]; then
    t=$(date -u -d "$2" +%s 2>/dev/null) || refuse "cannot read '$2' as a time (like '2026-12-05 18:30:00 UTC')"
    [ "$t" -ge "$start" ] || refuse "$(utc "$t") is before the oldest backup; a restore can reach $range"
    [ "$t" -le "$end" ] || refuse "$(utc "$t") is after the newest archived WAL; a restore can reach $range"
    # Between the previous repository's last WAL and the first backup with the new key.
    [ -z "$prev" ] || [ "$t" -le "${prev#* }" ] || [ "$t" -ge "${cur% *}" ] ||
      refuse "$(utc "$t") falls in the key rotation, between $(utc "${prev#* }") and $(utc "${cur% *}"): no repository holds it"
    # The repository that covers TIME: the current one, else the one the last key rotation left.
    if [ "$t" -ge "${cur% *}" ]; then echo "repository: current"; else echo "repository: previous"; fi
  fi
  echo "window: $range"
  ;;
confs)
  cat "$conf"
  [ ! -s "$previous" ] || { echo "#previous"; cat "$previous"; }
  [ ! -s "$sftp_key" ] || { echo "#sftp-key"; cat "$sftp_key"; }
  [ ! -s "$s3_ca" ] || { echo "#s3-ca"; cat "$s3_ca"; }
  ;;
restore)
  target=$2
  stage_confs
  commit_confs
  { [ -d /before ] && [ -z "$(ls -A /before)" ]; } || refuse "/before must be an empty volume (where the data as it is now is kept)"
  [ ! -S /run/postgresql/.s.PGSQL.5432 ] || refuse "the server is running: stop its container first"
  w=$("$0" window "$target") || exit 65
  use=$conf
  [ "$(printf '%s\n' "$w" | sed -n 's/^repository: //p')" = previous ] && use=$previous
  if [ "$target" = latest ]; then
    # Every WAL file the repository holds: what a lost data volume comes back to.
    set -- --type=default
    to="the newest archived WAL"
  else
    # Just before TARGET (exclusive), as recovery_target_time reads it (UTC, microseconds).
    at=$(date -u -d "$target" '+%Y-%m-%d %H:%M:%S.%6N+00')
    set -- --type=time --target="$at" --target-exclusive --target-action=promote
    to="just before $at"
  fi
  cp -a "$PGDATA/." /before/
  back() {
    find "$PGDATA" -mindepth 1 -delete
    cp -a /before/. "$PGDATA/"
    echo "hyperscaler-pg-pitr: the restore failed ($1); the data is as it was" >&2
    exit 1
  }
  pgbr --config="$use" restore --delta "$@" \
    --recovery-option="restore_command=pgbackrest --config=$use --stanza=$stanza archive-get %f \"%p\"" || back "pgbackrest restore"
  # The replay happens here, listening on nothing and archiving nothing, so a target the WAL
  # cannot reach changes nothing; the server's container starts on the promoted result (and
  # archives the new timeline's first files then).
  log=/tmp/replay.log sock=/tmp/replay
  mkdir -p "$sock" && chown postgres "$sock"
  as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
  as_pg pg_ctl -D "$PGDATA" -l "$log" -w -t 3600 \
    -o "-c listen_addresses='' -c unix_socket_directories=$sock -c archive_mode=off" start >/dev/null || { cat "$log" >&2; back "the replay did not start"; }
  while [ "$(as_pg psql -X -At -h "$sock" -d postgres -c "SELECT pg_is_in_recovery()" 2>/dev/null)" != f ]; do
    as_pg pg_ctl -D "$PGDATA" status >/dev/null || { grep -E "FATAL|recovery" "$log" >&2; back "the replay stopped before its target"; }
    sleep 0.5
  done
  grep -E "recovery stopping|last completed transaction|archive recovery complete" "$log" || true
  as_pg pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
  echo "restored $PGDATA to $to; the data as it was is in /before"
  ;;
*) sed -n '2,19s/^# \{0,1\}//p' "$0" >&2; exit 64 ;;
esac
