#!/bin/sh
# hyperscaler-repository-prune DIR KEEP...
# Removes every entry of /repository/DIR but the KEEP ones (a key epoch's repository that
# the stack no longer has a key for), as the repository's user: the files are its own.
set -eu
dir=/repository/$1; shift
[ -d "$dir" ] || exit 0
for entry in "$dir"/*; do
  [ -e "$entry" ] || continue
  case " $* " in *" ${entry##*/} "*) continue ;; esac
  setpriv --reuid=repository --regid=repository --clear-groups rm -rf -- "$entry"
  echo "removed $entry: its key was rotated out twice"
done
