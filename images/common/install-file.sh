#!/bin/sh
# hyperscaler-install PATH MODE OWNER < content
# Writes stdin to PATH atomically (temp file + rename in the same directory), so a daemon
# never reads half a key or config. Used for the first delivery and for every rotation.
set -eu
path=$1 mode=$2 owner=$3
dir=$(dirname "$path"); mkdir -p "$dir"
tmp=$(mktemp "$dir/.install.XXXXXX")
cat >"$tmp"
[ -s "$tmp" ] || { rm -f "$tmp"; echo "hyperscaler-install: refusing to install an empty $path" >&2; exit 65; }
chown "$owner" "$tmp"; chmod "$mode" "$tmp"
mv -f "$tmp" "$path"
