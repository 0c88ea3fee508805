#!/bin/sh
# hyperscaler-dashboards-provision KIND NAME < resource.json
# Checks a Perses resource (Project, Secret, Datasource, Dashboard) against the server's schemas,
# then writes it to the provisioning folder and waits until the server serves it as written.
# A resource that does not validate is refused with the server's reason, and nothing is
# written: the one served before stays.
# hyperscaler-dashboards-provision --remove KIND NAME
# Takes it away: its provisioning file, and its record in the file database (the server is
# read-only: its API deletes nothing).
set -eu
api=http://127.0.0.1:8080/api
dir=/perses/provisioning
data=/perses/data
if [ "$1" = --remove ]; then
  kind=$2 name=$3
  for f in "$dir"/*.json; do
    [ -e "$f" ] || continue
    if [ "$(jq -r '"\(.kind) \(.metadata.name)"' "$f")" = "$kind $name" ]; then
      project=$(jq -r '.metadata.project // ""' "$f")
      rm -f "$f"
      case "$kind" in
        Dashboard) rm -f "$data/dashboards/$project/$name.json" ;;
        Datasource) rm -f "$data/datasources/$project/$name.json" ;;
        Secret) rm -f "$data/secrets/$project/$name.json" ;;
        Project) rm -f "$data/projects/$name.json" ;;
      esac
    fi
  done
  exit 0
fi
kind=$1 name=$2
tmp=$(mktemp); out=$(mktemp); trap 'rm -f "$tmp" "$out"' EXIT
cat >"$tmp"
jq -e . "$tmp" >/dev/null || { echo "hyperscaler-dashboards-provision: $kind $name is not JSON" >&2; exit 65; }
project=$(jq -r '.metadata.project // .metadata.name' "$tmp")
i=0
until curl -fs -o /dev/null "$api/v1/health"; do
  i=$((i + 1)); [ "$i" -lt 120 ] || { echo "hyperscaler-dashboards-provision: Perses did not answer on :8080 within 60s" >&2; exit 69; }
  sleep 0.5
done
case "$kind" in
  Dashboard) check=dashboards path="projects/$project/dashboards/$name" ;;
  Datasource) check=datasources path="projects/$project/datasources/$name" ;;
  Secret) check="" path="projects/$project/secrets/$name" ;;
  Project) check="" path="projects/$name" ;;
  *) echo "hyperscaler-dashboards-provision: unknown kind $kind" >&2; exit 64 ;;
esac
if [ -n "$check" ]; then
  code=$(curl -s -o "$out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary "@$tmp" "$api/validate/$check")
  if [ "$code" != 200 ]; then
    echo "hyperscaler-dashboards-provision: $kind $name does not validate (HTTP $code): $(cat "$out")" >&2; exit 65
  fi
fi
mkdir -p "$dir"
file="$dir/$(echo "$kind-$project-$name" | tr '[:upper:]' '[:lower:]').json"
cp "$tmp" "$file.tmp" && mv -f "$file.tmp" "$file"
# Served as written: the provisioning task runs every 2 s.
want=$(jq -S .spec "$tmp")
i=0
while :; do
  if curl -fs -o "$out" "$api/v1/$path" && [ "$(jq -S .spec "$out")" = "$want" ]; then exit 0; fi
  i=$((i + 1)); [ "$i" -lt 60 ] || { echo "hyperscaler-dashboards-provision: Perses does not serve $kind $name 30s after it was written to $file" >&2; exit 70; }
  sleep 0.5
done
