#!/bin/sh
# hyperscaler-wait-file WHAT FILE...
# Waits until every FILE is there and not empty (a config or certificate delivered by
# `docker exec` in the update that made the container), saying once a minute that WHAT
# waits for it: a daemon started before its files would run without them.
set -eu
what=$1; shift
waited=0
for f in "$@"; do
  until [ -s "$f" ]; do
    [ $((waited % 60)) -eq 0 ] && echo "hyperscaler: $what waits for $f (${waited}s)"
    sleep 1; waited=$((waited + 1))
  done
done
