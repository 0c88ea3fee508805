#!/bin/sh
# hyperscaler-tls-wait WHAT FILE...
# Waits until every FILE is there and not empty (what hyperscaler-tls-install puts in
# place, delivered by the update that made the container), saying once a minute that WHAT
# waits for it. A server started before its certificate would have none to serve.
set -eu
what=$1; shift
waited=0
for f in "$@"; do
  until [ -s "$f" ]; do
    [ $((waited % 60)) -eq 0 ] && echo "hyperscaler: $what waits for $f (${waited}s)"
    sleep 1; waited=$((waited + 1))
  done
done
