# shellcheck shell=bash disable=SC2034,SC2154 # stack is set by the sourcing script, which reads the variables set here
# The deployed stack's manifest (its `manifest` output), for the scripts that act on a
# stack's PostgreSQL: sourced after `stack` is set; sets manifest, container and cluster, and
# DOCKER_HOST to PostgreSQL's engine.
manifest=$(pulumi stack output manifest --stack "$stack" --json)
# field PATH: the manifest's value at PATH (dotted; a list gives its first item), exit 1 where there is none.
field() { node -e 'const m=JSON.parse(process.argv[1]); const v=process.argv[2].split(".").reduce((o,k)=>o?.[k], m); if (v===undefined) process.exit(1); console.log(Array.isArray(v)?v[0]:v)' "$manifest" "$1"; }
container=$(field postgres.container) || { echo "stack $stack has no PostgreSQL (hyperscaler:postgres)" >&2; exit 65; }
cluster=$(field cluster)
# On several workstations, PostgreSQL runs on the controller's engine, which need not be this
# machine's: every docker command of the sourcing script goes there.
if engine=$(field "engines.$container.dockerHost"); then export DOCKER_HOST=$engine; fi
