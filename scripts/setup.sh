#!/usr/bin/env bash
# Brings a bare machine to the point where `pulumi up --stack dev` can run, from three
# sources only: the npm registry, Debian's packages and the Go module proxy.
# Idempotent: every step checks for its finished result first, so a second run with the
# caches present takes seconds. A failed or partial build never counts as ready.
#
#   bash scripts/setup.sh            # everything
#   bash scripts/setup.sh engine     # one step: node | engine | providers | logs | dashboards | lint | docker | base-image
set -euo pipefail
if [ "${1:-}" = --help ]; then echo "usage: scripts/setup.sh [node|engine|providers|logs|dashboards|lint|docker|base-image]..."; exit 0; fi
# shellcheck source=lib/paths.sh
source "$(dirname "$0")/lib/paths.sh"
cd "$HYPERSCALER_REPO"

LOG_DIR="$HYPERSCALER_CACHE/logs"
mkdir -p "$LOG_DIR" "$HYPERSCALER_CACHE/engine" "$HYPERSCALER_PULUMI_HOME"
DEBIAN_MIRROR=${HYPERSCALER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SETUP_START=$SECONDS

say() { printf '[setup %3ds] %s\n' "$((SECONDS - SETUP_START))" "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }

# run_step NAME CMD...: runs CMD with its output in a log, prints progress every 30 s,
# and on failure names the step, its log, and the log's last lines.
run_step() {
  local name=$1; shift
  local log="$LOG_DIR/$name.log" start=$SECONDS next=30
  say "$name: started (log: $log)"
  "$@" >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (( SECONDS - start >= next )); then
      say "$name: still running, $((SECONDS - start))s (log: $log)"; next=$((next + 30))
    fi
  done
  if ! wait "$pid"; then
    tail -n 25 "$log" | sed 's/^/    /' >&2
    die "step '$name' failed after $((SECONDS - start))s; full log: $log"
  fi
  say "$name: done in $((SECONDS - start))s"
}

need_root() {
  [ "$(id -u)" = 0 ] || die "$1 needs root (run setup as root, or do it yourself: $2)"
}

# --- node: the project's npm dependencies, exactly as locked -------------------------
step_node() {
  local stamp=node_modules/.hyperscaler-lock-sha want
  want=$(sha256sum package-lock.json | cut -c1-64)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then say "node: up to date"; return; fi
  # --ignore-scripts: the provider packages' install scripts try to download plugins.
  run_step node npm ci --ignore-scripts --no-audit --no-fund
  echo "$want" >"$stamp"
}

# --- engine: Pulumi CLI from Go modules, its nodejs language host from providers/ ------
# The Go checksum database has no record for some pulumi, terraform-provider and
# kreuzwerker versions (it answers 404); the hashes are pinned by the committed go.sum
# files, which -mod=readonly enforces.
GO_NOSUMDB=github.com/pulumi,github.com/terraform-providers,github.com/kreuzwerker
go_build() {
  CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" GONOSUMDB=$GO_NOSUMDB go build -trimpath "$@"
}

# build_plugin TARGET VERSION OUT: one of the project's own plugins (providers/TARGET),
# its Go dependencies from the module proxy, stamped with the version the engine asks for.
build_plugin() {
  local target=$1 version=$2 out; out=$(realpath -m "$3")
  if [ "$target" = docker ]; then build_docker_plugin "$version" "$out"
  else (cd "$HYPERSCALER_PROVIDERS_DIR" && go_build -ldflags "-s -w -X main.version=$version" -o "$out" "./$target"); fi
  local got; got=$("$out" --version)
  [ "$got" = "$version" ] || { echo "built $target reports version '$got', want $version"; return 1; }
}

# The docker plugin: the glue in providers/docker over the Terraform provider module pinned
# in its go.mod, with the patches in providers/docker/patches applied to a copy of that
# module (each says why, and where upstream stands). The committed go.sum still pins the
# module's dependencies; the copy replaces the module for this build only.
build_docker_plugin() (
  local version=$1 out=$2 glue="$HYPERSCALER_PROVIDERS_DIR/docker" work module src patch
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  module=$(sed -n 's#^replace github.com/terraform-providers/terraform-provider-docker => \(\S*\) \(\S*\)$#\1@\2#p' "$glue/go.mod")
  [ -n "$module" ] || { echo "providers/docker/go.mod has no replace for the Terraform provider"; return 1; }
  src=$(cd "$glue" && GONOSUMDB=$GO_NOSUMDB go mod download -json "$module" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$src" ] || { echo "go mod download $module gave no directory"; return 1; }
  cp -r "$src" "$work/provider"; chmod -R u+w "$work/provider"
  for patch in "$glue"/patches/*.patch; do
    # No repository above the copy: git applies the patch as patch(1) would.
    (cd "$work/provider" && GIT_CEILING_DIRECTORIES="$work" git apply -p1 "$patch") || { echo "$patch does not apply to $module"; return 1; }
  done
  cp "$glue/go.mod" "$glue/go.sum" "$work/"
  (cd "$glue" && go mod edit -modfile="$work/go.mod" -replace "github.com/terraform-providers/terraform-provider-docker=$work/provider" &&
    go_build -modfile="$work/go.mod" -ldflags "-s -w -X main.version=$version" -o "$out" .)
)

build_engine() {
  local out=$1
  (cd scripts/toolchain/pulumi-cli && go_build -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$HYPERSCALER_PULUMI_VERSION" \
    -o "$out/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  # The CLI looks for its language host beside itself first.
  build_plugin language-nodejs "v$HYPERSCALER_PULUMI_VERSION" "$out/bin/pulumi-language-nodejs"
  # Upstream ships the dynamic-provider launcher beside the CLI; @pulumi/pulumi carries it.
  install -m 0755 node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs "$out/bin/"
  local got; got=$("$out/bin/pulumi" version)
  [ "$got" = "v$HYPERSCALER_PULUMI_VERSION" ] || { echo "built CLI reports '$got', want v$HYPERSCALER_PULUMI_VERSION"; return 1; }
}

step_engine() {
  if [ -f "$HYPERSCALER_ENGINE_DIR/.ready" ]; then say "engine: pulumi v$HYPERSCALER_PULUMI_VERSION ready"; return; fi
  command -v go >/dev/null || die "engine: Go is not installed (apt-get install golang, or Go >= 1.24 on PATH)"
  [ -d node_modules/@pulumi/pulumi ] || step_node
  local tmp; tmp=$(mktemp -d "$HYPERSCALER_CACHE/engine/.partial.XXXXXX")
  run_step engine build_engine "$tmp"
  touch "$tmp/.ready"
  rm -rf "$HYPERSCALER_ENGINE_DIR"; mv "$tmp" "$HYPERSCALER_ENGINE_DIR"
  find "$HYPERSCALER_CACHE/engine" -maxdepth 1 -name '.partial.*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
}

# --- providers: one plugin per @pulumi/<name> package, at the version npm asks for ----
# Downloaded where `pulumi plugin install` can reach its release (HYPERSCALER_PLUGIN_DOWNLOAD=0
# skips the try), else built from the project's own code in providers/ and cached by
# version and source key. A stamp in the plugin folder says which, so changed code reinstalls.
need_cli() { [ -x "$1" ] || die "providers: no pulumi CLI at $1; run 'bash scripts/setup.sh engine' first"; }
step_providers() {
  local pulumi="$HYPERSCALER_ENGINE_DIR/bin/pulumi" name version key dir stamp bin
  export PULUMI_HOME="$HYPERSCALER_PULUMI_HOME" PULUMI_SKIP_UPDATE_CHECK=true
  command -v go >/dev/null || die "providers: Go is not installed (apt-get install golang, or Go >= 1.25 on PATH)"
  for name in command random docker; do
    version=$(node -p "require('@pulumi/$name/package.json').pulumi.version")
    key=$(hyperscaler_source_key "$name")
    dir="$PULUMI_HOME/plugins/resource-$name-v$version"
    stamp=$(cat "$dir/.hyperscaler-origin" 2>/dev/null || true)
    if [ -x "$dir/pulumi-resource-$name" ] && { [ "$stamp" = download ] || [ "$stamp" = "built $key" ]; }; then
      say "providers: $name v$version installed (${stamp%% *})"; continue
    fi
    if [ "${HYPERSCALER_PLUGIN_DOWNLOAD:-1}" = 1 ] && need_cli "$pulumi" &&
       timeout 90 "$pulumi" plugin install resource "$name" "$version" --reinstall >"$LOG_DIR/providers-$name-download.log" 2>&1; then
      echo download >"$dir/.hyperscaler-origin"
      say "providers: $name v$version downloaded"; continue
    fi
    bin="$HYPERSCALER_CACHE/plugins/$name-v$version-$key/pulumi-resource-$name"
    if [ -x "$bin" ]; then
      say "providers: $name v$version built here before ($bin)"
    else
      say "providers: $name v$version cannot be downloaded here (log: $LOG_DIR/providers-$name-download.log); building it from providers/$name"
      rm -rf "$(dirname "$bin")"
      run_step "providers-$name" build_plugin "$name" "$version" "$bin.partial"
      mv "$bin.partial" "$bin"
    fi
    need_cli "$pulumi"
    run_step "providers-$name-install" "$pulumi" plugin install resource "$name" "$version" --file "$bin" --reinstall
    echo "built $key" >"$dir/.hyperscaler-origin"
  done
}

# Installs a Debian package as step STEP. Another setup (or apt) may hold the package
# lock: wait for it rather than fail. `apt-get update`'s lists lock has no such wait, so
# this setup's own installs (two may run at once) take turns.
apt_install() {
  local package=$1 step=$2
  need_root "installing $package" "apt-get install $package"
  run_step "$step" flock "$HYPERSCALER_CACHE/.apt.lock" bash -c "apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq $package"
}

# --- compose: Debian's docker-compose, for the benchmark's compose peer (not a default step)
step_compose() {
  if command -v docker-compose >/dev/null; then say "compose: $(docker-compose version --short) present"; return; fi
  apt_install docker-compose compose-install
  say "compose: $(docker-compose version --short) installed"
}

# --- lint: shellcheck for the project's shell (npm run lint), and openssl, which checks the
# certificates in the unit tests (tests/components/tls.test.ts) --------------------------
step_lint() {
  command -v openssl >/dev/null || apt_install openssl openssl-install
  if command -v shellcheck >/dev/null; then say "lint: shellcheck $(shellcheck --version | sed -n 's/^version: //p') present"; return; fi
  apt_install shellcheck shellcheck-install
  say "lint: shellcheck $(shellcheck --version | sed -n 's/^version: //p') installed"
}

# module_dir MODULE@VERSION: the Go module proxy's copy of it, downloaded first (read-only:
# build in a copy). Asked from outside any module, so no go.mod here has a say.
module_dir() { (cd "${TMPDIR:-/tmp}" && go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'); }
# fetch_release BASE TARBALL SUMS DIR FILE...: TARBALL from a release at BASE, checked against
# the release's SUMS file, its FILEs extracted into DIR.
fetch_release() (
  local base=$1 tarball=$2 sums=$3 dir=$4 work; shift 4
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  timeout 300 curl -fsSL -o "$work/$tarball" "$base/$tarball" &&
    timeout 60 curl -fsSL -o "$work/sums" "$base/$sums" &&
    (cd "$work" && grep " $tarball\$" sums | sha256sum -c -) &&
    mkdir -p "$dir" && tar -C "$dir" -xzf "$work/$tarball" "$@"
)
# The release's name for this machine's architecture.
release_arch() { case "$(uname -m)" in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) return 1 ;; esac; }
# release_or_build STEP WHAT OUT DOWNLOAD BUILD: OUT from the release where DOWNLOAD can fetch
# it (HYPERSCALER_PLUGIN_DOWNLOAD=0 skips the try), else from BUILD (its Go module).
release_or_build() {
  local step=$1 what=$2 out=$3 download=$4 build=$5
  rm -rf "$out"
  if [ "${HYPERSCALER_PLUGIN_DOWNLOAD:-1}" = 1 ] && "$download" "$out" >"$LOG_DIR/$step-download.log" 2>&1; then
    say "$step: $what downloaded"
  else
    command -v go >/dev/null || die "$step: Go is not installed (apt-get install golang, or Go >= 1.26 on PATH)"
    say "$step: $what cannot be downloaded here (log: $LOG_DIR/$step-download.log); building it from its Go module"
    rm -rf "$out"; run_step "$step-build" "$build" "$out"
  fi
}

# --- logs: VictoriaLogs for the log store's image (images/logs) ----------------------------
# The release's binary where it can be downloaded (checked against the release's checksums;
# HYPERSCALER_PLUGIN_DOWNLOAD=0 skips the try), else built from its Go module (the module
# proxy; its go.sum checked by the sum database), cached by version; then copied where the
# image's build context (images/) has it.
VICTORIALOGS_MODULE=github.com/VictoriaMetrics/VictoriaLogs
download_victorialogs() (
  local out=$1 v=$HYPERSCALER_VICTORIALOGS_VERSION arch name
  arch=$(release_arch) || return 1
  name="victoria-logs-linux-$arch-$v"
  fetch_release "https://github.com/VictoriaMetrics/VictoriaLogs/releases/download/$v" "$name.tar.gz" "${name}_checksums.txt" "$out.d" victoria-logs-prod &&
    install -m 0755 "$out.d/victoria-logs-prod" "$out" && rm -rf "$out.d"
)
build_victorialogs() (
  local out=$1 work src
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  src=$(module_dir "$VICTORIALOGS_MODULE@$HYPERSCALER_VICTORIALOGS_VERSION")
  [ -d "$src" ] || { echo "go mod download $VICTORIALOGS_MODULE@$HYPERSCALER_VICTORIALOGS_VERSION gave no directory"; return 1; }
  # Built in a copy: the module cache is read-only.
  cp -r "$src" "$work/src"; chmod -R u+w "$work/src"
  (cd "$work/src" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "-s -w" -o "$out" ./app/victoria-logs)
  "$out" -version
)
step_logs() {
  local v=$HYPERSCALER_VICTORIALOGS_VERSION dir bin
  dir="$HYPERSCALER_CACHE/victorialogs/$v" bin="$HYPERSCALER_CACHE/victorialogs/$v/victoria-logs"
  if [ ! -x "$bin" ]; then
    mkdir -p "$dir"
    release_or_build logs "VictoriaLogs $v" "$bin.partial" download_victorialogs build_victorialogs
    mv "$bin.partial" "$bin"
  fi
  if cmp -s "$bin" "$HYPERSCALER_VICTORIALOGS_BIN"; then say "logs: VictoriaLogs $v ready"; return; fi
  mkdir -p "$(dirname "$HYPERSCALER_VICTORIALOGS_BIN")"
  install -m 0755 "$bin" "$HYPERSCALER_VICTORIALOGS_BIN"
  say "logs: VictoriaLogs $v copied into ${HYPERSCALER_VICTORIALOGS_BIN#"$HYPERSCALER_REPO"/}"
}

# --- dashboards: Perses for the dashboard server's image (images/dashboards) -------------------
# The server and percli from the release where it can be downloaded (checked against its
# checksums; HYPERSCALER_PLUGIN_DOWNLOAD=0 skips the try), else built from the Go module,
# which holds the UI's npm workspace (its packages from npm), cached by version. Then the
# image's build context gets them with the plugins: each plugin's built bundle from npm and
# the CUE schemas the server validates dashboards with (Prometheus's from its Go module, the
# chart kinds' from images/dashboards/schemas: their own modules are not served).
PERSES_MODULE=github.com/perses/perses
download_perses() (
  local out=$1 v=${HYPERSCALER_PERSES_VERSION#v} arch
  arch=$(release_arch) || return 1
  fetch_release "https://github.com/perses/perses/releases/download/v$v" "perses_${v}_linux_$arch.tar.gz" checksums.txt "$out" perses percli
)
build_perses() (
  local out=$1 work src ldflags
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  src=$(module_dir "$PERSES_MODULE@$HYPERSCALER_PERSES_VERSION")
  [ -d "$src" ] || { echo "go mod download $PERSES_MODULE@$HYPERSCALER_PERSES_VERSION gave no directory"; return 1; }
  # Built in a copy: the module cache is read-only.
  cp -r "$src" "$work/src"; chmod -R u+w "$work/src"
  cd "$work/src"
  # The UI (turbo + rspack), then embedded in the server as upstream's Makefile does it
  # (less its plugin download: the image carries the plugins).
  (cd ui && npm ci --no-audit --no-fund && npm run build)
  bash scripts/compress_assets.sh
  go generate ./internal/api
  ldflags="-s -w -X github.com/prometheus/common/version.Version=${HYPERSCALER_PERSES_VERSION#v}"
  mkdir -p "$out"
  CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "$ldflags" -o "$out/perses" ./cmd/perses
  CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "$ldflags" -o "$out/percli" ./cmd/percli
  "$out/percli" version --short
)
# assemble_perses_plugins DIR: each plugin's npm bundle, with its schemas and the CUE
# packages they import (Perses's own cue/, from its module) in the plugin's cue.mod.
assemble_perses_plugins() (
  local out=$1 work perses_cue pkg version folder schemas module
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  perses_cue=$(module_dir "$PERSES_MODULE@$HYPERSCALER_PERSES_VERSION")/cue
  [ -d "$perses_cue" ] || { echo "Perses's cue/ is not in its module ($perses_cue)"; return 1; }
  rm -rf "$out"; mkdir -p "$out"
  while read -r pkg version folder schemas module; do
    case "$pkg" in "" | "#"*) continue ;; esac
    (cd "$work" && npm pack -q "$pkg@$version" >/dev/null)
    mkdir -p "$out/$folder"
    tar -C "$out/$folder" --strip-components=1 -xzf "$work/$(echo "${pkg#@}" | tr / -)-$version.tgz"
    rm -rf "${out:?}/${folder:?}/lib"   # the server serves the module-federation bundle (__mf) only
    case "$schemas" in
      go:*) # a Go module's schemas/ (its checksum is not in the sum database: GONOSUMDB)
        local mod=${schemas#go:} dir
        dir=$(GONOSUMDB=github.com/perses module_dir "$mod")
        [ -d "$dir/schemas" ] || { echo "$mod has no schemas/"; return 1; }
        cp -r "$dir/schemas" "$out/$folder/schemas" ;;
      *) cp -r "$HYPERSCALER_REPO/images/dashboards/schemas/$schemas" "$out/$folder/schemas" ;;
    esac
    # No CUE registry: the imports resolve in cue.mod/pkg (a module file without deps).
    mkdir -p "$out/$folder/cue.mod/pkg/github.com/perses/perses"
    printf 'module: "%s"\nlanguage: version: "v0.14.0"\n' "$module" >"$out/$folder/cue.mod/module.cue"
    cp -r "$perses_cue" "$out/$folder/cue.mod/pkg/github.com/perses/perses/cue"
    chmod -R u+w,go-w "$out/$folder"
  done <"$HYPERSCALER_REPO/images/dashboards/plugins.txt"
)
step_dashboards() {
  local v=$HYPERSCALER_PERSES_VERSION dir key
  dir="$HYPERSCALER_CACHE/perses/$v"
  if [ ! -x "$dir/bin/perses" ] || [ ! -x "$dir/bin/percli" ]; then
    mkdir -p "$dir"
    release_or_build dashboards "Perses $v (UI included: a few minutes to build)" "$dir/bin.partial" download_perses build_perses
    rm -rf "${dir:?}/bin"; mv "$dir/bin.partial" "$dir/bin"
  fi
  # The plugins, keyed by their list and the project's schemas.
  key=$(cd "$HYPERSCALER_REPO/images/dashboards" && find plugins.txt schemas -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
  if [ ! -d "$dir/plugins-$key" ]; then
    rm -rf "$dir/plugins.partial"
    run_step dashboards-plugins assemble_perses_plugins "$dir/plugins.partial"
    mv "$dir/plugins.partial" "$dir/plugins-$key"
  fi
  if cmp -s "$dir/bin/perses" "$HYPERSCALER_PERSES_DIR/bin/perses" && [ "$(cat "$HYPERSCALER_PERSES_DIR/plugins.key" 2>/dev/null)" = "$key" ]; then
    say "dashboards: Perses $v ready"; return
  fi
  rm -rf "$HYPERSCALER_PERSES_DIR"; mkdir -p "$HYPERSCALER_PERSES_DIR"
  cp -r "$dir/bin" "$HYPERSCALER_PERSES_DIR/bin"
  cp -r "$dir/plugins-$key" "$HYPERSCALER_PERSES_DIR/plugins"
  echo "$key" >"$HYPERSCALER_PERSES_DIR/plugins.key"
  say "dashboards: Perses $v and its plugins copied into ${HYPERSCALER_PERSES_DIR#"$HYPERSCALER_REPO"/}"
}

# --- docker: use the engine that answers, else install Debian's and start it --------
step_docker() {
  # dockerd lives in sbin, which a plain user's (or a CI runner's) PATH may leave out.
  local PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
  if docker info >/dev/null 2>&1; then say "docker: engine answers ($(docker info --format '{{.ServerVersion}}'))"; return; fi
  if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != unix:///var/run/docker.sock ]; then
    die "docker: DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST to use a local one"
  fi
  if ! command -v dockerd >/dev/null; then
    apt_install docker.io docker-install
  fi
  need_root "starting dockerd" "dockerd &"
  # A dockerd already there is starting (let it answer) or still shutting down, its
  # containers stopping, while it holds the pid file (let it finish).
  local i
  for i in $(seq 1 120); do
    docker info >/dev/null 2>&1 && { say "docker: engine answers ($(docker info --format '{{.ServerVersion}}'))"; return; }
    pidof dockerd >/dev/null || break; sleep 1
  done
  pidof dockerd >/dev/null && die "docker: a dockerd process (pid $(pidof dockerd)) runs but does not answer; stop it or look at $LOG_DIR/dockerd.log"
  say "docker: starting dockerd (log: $LOG_DIR/dockerd.log)"
  # Its own session: the engine outlives whatever ran setup (a test, a CI step).
  setsid nohup dockerd >"$LOG_DIR/dockerd.log" 2>&1 < /dev/null &
  for i in $(seq 1 90); do
    docker info >/dev/null 2>&1 && { say "docker: engine up after ${i}s"; return; }
    sleep 1
  done
  tail -n 20 "$LOG_DIR/dockerd.log" >&2
  die "docker: dockerd did not answer within 90s; log: $LOG_DIR/dockerd.log"
}

# --- base image: debian:<suite>-slim when it can be pulled, else debootstrap ---------
make_rootfs_tarball() {
  local tarball=$1 root; root=$(mktemp -d "$HYPERSCALER_CACHE/base/.rootfs.XXXXXX")
  debootstrap --variant=minbase "$HYPERSCALER_DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/*
  tar --numeric-owner -C "$root" -cf "$tarball.partial" .
  rm -rf "$root"; mv "$tarball.partial" "$tarball"
}

step_base_image() {
  local suite=$HYPERSCALER_DEBIAN_SUITE
  if docker image inspect "$HYPERSCALER_BASE_IMAGE" >/dev/null 2>&1; then say "base-image: $HYPERSCALER_BASE_IMAGE present"; return; fi
  if [ "${HYPERSCALER_BASE_PULL:-1}" = 1 ] && timeout 120 docker pull "debian:$suite-slim" >"$LOG_DIR/base-pull.log" 2>&1; then
    docker tag "debian:$suite-slim" "$HYPERSCALER_BASE_IMAGE"
    say "base-image: pulled debian:$suite-slim, tagged $HYPERSCALER_BASE_IMAGE"; return
  fi
  say "base-image: debian:$suite-slim cannot be pulled here (log: $LOG_DIR/base-pull.log); building it with debootstrap"
  local tarball="$HYPERSCALER_CACHE/base/debian-$suite-minbase.tar"
  mkdir -p "$HYPERSCALER_CACHE/base"
  if [ ! -f "$tarball" ]; then
    need_root "debootstrap" "debootstrap --variant=minbase $suite DIR"
    command -v debootstrap >/dev/null || apt_install debootstrap debootstrap-install
    run_step debootstrap make_rootfs_tarball "$tarball"
  fi
  run_step base-import docker import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
    --message "debootstrap $suite minbase from $DEBIAN_MIRROR" "$tarball" "$HYPERSCALER_BASE_IMAGE"
}

steps=("$@")
if [ ${#steps[@]} -eq 0 ]; then
  # Everything: the engine and the base image (apt and the Debian mirror, little CPU) come
  # up beside the Go builds (CPU bound), which on a bare machine saves their minutes.
  ( step_docker && step_base_image ) &
  engine_side=$!
  # The dashboard server's build (npm and Go, minutes when cold) beside the others too: its
  # npm install and module downloads wait on the network while the Go builds use the CPUs.
  step_dashboards &
  dashboards_side=$!
  # A step that fails here still lets those sides finish (one may be inside apt) before setup exits.
  trap 'wait "$engine_side" "$dashboards_side" 2>/dev/null || true' EXIT
  steps=(node engine providers logs lint)
fi
for s in "${steps[@]}"; do
  case "$s" in
    node|engine|providers|logs|dashboards|lint|docker|compose) "step_$s" ;;
    base-image) step_base_image ;;
    *) die "unknown step '$s' (one of: node engine providers logs dashboards lint docker base-image compose)" ;;
  esac
done
if [ -n "${engine_side:-}" ]; then wait "$engine_side" || die "docker or base-image failed (above)"; fi
if [ -n "${dashboards_side:-}" ]; then wait "$dashboards_side" || die "dashboards failed (above)"; fi
# Where state is: your own backend (a password someone put in its URL masked), else the file one.
if [ -n "${PULUMI_BACKEND_URL:-}" ] && [ "$PULUMI_BACKEND_URL" != "${HYPERSCALER_DEFAULT_BACKEND:-}" ]; then
  state=$(printf '%s' "$PULUMI_BACKEND_URL" | sed -E 's#^([a-z]+://[^:/@]*):[^@]*@#\1:***@#')
else state=$HYPERSCALER_STATE_DIR; fi
say "ready: pulumi v$HYPERSCALER_PULUMI_VERSION, state in $state; run: source scripts/env.sh"
