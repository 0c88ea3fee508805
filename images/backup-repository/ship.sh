#!/bin/sh
# hyperscaler-backup-ship: the cluster's file backups (each folder under /ship, mounted
# read-only: slurmctld's state, MariaDB's verified dumps) copied to the backup repository
# with restic, over SFTP or to an S3-compatible bucket, encrypted with the stack's restic password.
#   loop             (the shipper container) a snapshot of each folder every INTERVAL_MIN,
#                    snapshots older than KEEP_DAYS forgotten (and pruned once a day)
#   now              one snapshot of each folder now
#   snapshots        the snapshots the repository holds
#   restore PART DIR [BEFORE]
#                    the newest snapshot of /ship/PART (taken before BEFORE, 'YYYY-MM-DD
#                    HH:MM:SS' UTC, when given) into DIR, made if its parent is there (a
#                    one-off container with the volume mounted, stdin: the tar stream
#                    `files` writes; secret)
#   files            writes the settings and keys as a tar stream (secret: for a restore's
#                    one-off container; tar keeps each file whole, a last line without a
#                    newline included)
# Settings: /etc/hyperscaler/ship.conf (INTERVAL_MIN, KEEP_DAYS, and REPOSITORY_HOST for the
# repository container, else S3_URL, S3_REGION, S3_BUCKET_LOOKUP and S3_CA_FILE if any), the
# password in /etc/hyperscaler/restic-password; the SSH key and known host in
# /etc/hyperscaler/ssh, or the S3 key pair in /etc/hyperscaler/s3-credentials.
# Each round (loop or now) publishes, for the container's node exporter, whether it reached
# the repository and when each folder's newest snapshot arrived there (what the alerts read).
set -eu
cluster=${HYPERSCALER_CLUSTER:?set HYPERSCALER_CLUSTER}
etc=/etc/hyperscaler settings=/etc/hyperscaler/ship.conf
# Lists of paths without spaces: split where used. FILES: every file of the settings (load sets it).
BASE_FILES="$settings $etc/restic-password"
load() {
  INTERVAL_MIN=15 KEEP_DAYS=7 REPOSITORY_HOST='' S3_URL='' S3_REGION='' S3_BUCKET_LOOKUP='' S3_CA_FILE=''
  # shellcheck source=/dev/null # written by the stack
  . "$settings"
  export RESTIC_PASSWORD_FILE=$etc/restic-password RESTIC_CACHE_DIR=/var/cache/restic
  if [ -n "$REPOSITORY_HOST" ]; then
    export RESTIC_REPOSITORY="sftp:repository@$REPOSITORY_HOST:/repository/files"
    FILES="$BASE_FILES $etc/ssh/key $etc/ssh/known_hosts"
  else
    export RESTIC_REPOSITORY="s3:$S3_URL"
    FILES="$BASE_FILES $etc/s3-credentials $S3_CA_FILE"
    # AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, as restic reads them.
    if [ -f "$etc/s3-credentials" ]; then set -a; . "$etc/s3-credentials"; set +a; fi
  fi
}
# restic over the stack's SSH key, the host checked against the key the stack made for it;
# or to the bucket, its certificate checked against the CA given (else the system's).
# A command waits for another's lock (a restore beside the loop's forget or prune).
r() {
  if [ -n "$REPOSITORY_HOST" ]; then
    restic --retry-lock 10m -o sftp.command="ssh -i $etc/ssh/key -o UserKnownHostsFile=$etc/ssh/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10 repository@$REPOSITORY_HOST -s sftp" "$@"
  else
    restic --retry-lock 10m -o s3.region="$S3_REGION" -o s3.bucket-lookup="$S3_BUCKET_LOOKUP" ${S3_CA_FILE:+--cacert "$S3_CA_FILE"} "$@"
  fi
}
ready() { r cat config >/dev/null 2>&1 || r init >/dev/null; }
# When each folder's newest snapshot reached the repository: a file per folder.
arrived=/var/lib/hyperscaler/shipped
ship() {
  mkdir -p "$arrived"
  for dir in /ship/*/; do
    [ -d "$dir" ] || continue
    part=$(basename "$dir")
    if ! r backup --quiet --host "$cluster" --tag "$part" "$dir"; then
      echo "hyperscaler-backup-ship: $part did not reach the repository" >&2
      return 1
    fi
    date +%s >"$arrived/$part"
    echo "shipped $part: $(du -sh "$dir" | cut -f1)"
  done
}
# publish UP: the metrics of a round (UP 1: it reached the repository).
publish() {
  m=hyperscaler_backup_ship
  {
    echo "# HELP ${m}_repository_up Whether the shipper's last round reached the backup repository."
    echo "# TYPE ${m}_repository_up gauge"
    echo "${m}_repository_up $1"
    echo "# HELP ${m}_interval_seconds How often the shipper copies the file backups (hyperscaler:backupRepository.shipIntervalMin)."
    echo "# TYPE ${m}_interval_seconds gauge"
    echo "${m}_interval_seconds $((INTERVAL_MIN * 60))"
    echo "# HELP ${m}_last_success_timestamp_seconds When each folder's newest snapshot reached the repository."
    echo "# TYPE ${m}_last_success_timestamp_seconds gauge"
    for f in "$arrived"/*; do
      [ -f "$f" ] && echo "${m}_last_success_timestamp_seconds{part=\"$(basename "$f")\"} $(cat "$f")"
    done
  } | hyperscaler-textfile ship
}
# A round: ship every folder, and say how it went. One at a time (`now` beside the loop):
# two `restic init` at once leave a config that no key opens.
round() {
  exec 9>/run/hyperscaler-ship.lock
  flock 9
  if ready && ship; then publish 1; ok=0; else publish 0; ok=1; fi
  flock -u 9
  return "$ok"
}
case "${1:-}" in
loop)
  # shellcheck disable=SC2086
  hyperscaler-wait-file "the shipper" $BASE_FILES
  load
  # shellcheck disable=SC2086
  hyperscaler-wait-file "the shipper" $FILES
  pruned=0
  while :; do
    load
    # A round that did not reach the repository (it starts beside us, or its workstation is
    # away) is tried again in a minute, not a whole interval later.
    wait=60
    if round; then
      touch /run/hyperscaler-shipped # the container's health: a round that reached the repository
      r forget --quiet --host "$cluster" --group-by host,tags --keep-within "${KEEP_DAYS}d" >/dev/null || true
      if [ $(($(date +%s) - pruned)) -ge 86400 ]; then r prune --quiet >/dev/null && pruned=$(date +%s); fi
      wait=$((INTERVAL_MIN * 60))
    fi
    sleep "$wait"
  done
  ;;
now) load; round ;;
snapshots) load; r snapshots --host "$cluster" ;;
files)
  load
  # shellcheck disable=SC2046 # paths without spaces, made relative to /
  tar -C / -cf - $(for f in $FILES; do echo "${f#/}"; done)
  ;;
restore)
  part=$2 target=$3 before=${4:-}
  # The settings and keys from stdin, as `files` wrote them (owners and modes kept).
  tar -C / -xf -
  load
  [ -d "$(dirname "$target")" ] || { echo "hyperscaler-backup-ship: $(dirname "$target") is not a directory (mount the volume there)" >&2; exit 64; }
  mkdir -p "$target"
  snapshot=latest
  if [ -n "$before" ]; then
    # --compact lines: ID, date, time, host, tags...; oldest first, times in UTC (TZ unset).
    list=$(r snapshots --compact --host "$cluster" --tag "$part" | awk '$2 ~ /^[0-9][0-9][0-9][0-9]-/ { print $1, $2 " " $3 }')
    snapshot=$(echo "$list" | awk -v before="$before" '($2 " " $3) < before { id = $1 } END { print id }')
    if [ -z "$snapshot" ]; then
      echo "hyperscaler-backup-ship: no snapshot of $part before $before; the repository has: $(echo "$list" | awk '{ print $2 " " $3 }' | paste -sd, -)" >&2
      exit 65
    fi
    echo "restoring $part from snapshot $snapshot ($(echo "$list" | awk -v id="$snapshot" '$1 == id { print $2 " " $3 }') UTC)"
  fi
  r restore "$snapshot:/ship/$part" --host "$cluster" --tag "$part" --target "$target"
  ;;
*) sed -n '2,13s/^# \{0,1\}//p' "$0" >&2; exit 64 ;;
esac
