#!/usr/bin/env bash
# A lab of workstations on this one machine, for the tests and benchmarks of clusters
# that span several Docker engines. Each workstation is a network namespace with its own
# dockerd (its own data root) and its own sshd; the namespaces hang off one bridge, the
# lab's LAN, and nothing routes out of it. Docker reaches each engine the way it reaches
# a real workstation: ssh://<prefix>-wsN, through the lab's ssh config and key.
#
#   workstations.sh up PREFIX N [OCTET]  # N workstations: PREFIX-ws1..N at 10.OCTET.0.11.. (default 77)
#   workstations.sh stop PREFIX I        # stop workstation I's engine (its containers die with it)
#   workstations.sh lose PREFIX I        # kill its containers, stop it, delete its volumes: lost for good
#   workstations.sh start PREFIX I       # start it again
#   workstations.sh probe PREFIX HOST:PORT...  # from a LAN host that is no workstation: which ports answer
#   workstations.sh visit PREFIX COMMAND...    # run a command on that host (curl, as a visitor's laptop)
#   workstations.sh down PREFIX          # remove everything the lab made
#
# `up` prints the lab's directory: its bin/ holds an `ssh` that uses the lab's config, for
# PATH (Docker's ssh:// helper and the docker provider run `ssh`); lab.env has the addresses.
set -euo pipefail
# ip, dockerd and sshd live in sbin, which a CI runner's PATH may leave out.
export PATH="$PATH:/usr/sbin:/sbin"
cmd=${1:?usage: workstations.sh up|stop|lose|start|probe|visit|down PREFIX ...}
prefix=${2:?PREFIX}
[[ $prefix =~ ^[a-z][a-z0-9]{0,7}$ ]] || { echo "PREFIX must be 1-8 lowercase letters and digits: interface names are short" >&2; exit 2; }
lab=/run/hyperscaler-lab/$prefix
data=/var/lib/hyperscaler-lab/$prefix
bridge=${prefix}lan

ns() { echo "${prefix}-ws$1"; }
sock() { echo "$lab/ws$1/docker.sock"; }

# nsenter --net, not `ip netns exec`: that remounts /sys for the namespace, which hides
# the cgroup mounts dockerd needs ("Devices cgroup isn't mounted").
start_engine() {
  local i=$1 dir=$lab/ws$1
  mkdir -p "$dir/exec" "$data/ws$i"
  nsenter --net="/run/netns/$(ns "$i")" dockerd --data-root "$data/ws$i" --exec-root "$dir/exec" \
    -H "unix://$(sock "$i")" --pidfile "$dir/docker.pid" >>"$dir/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker -H "unix://$(sock "$i")" version >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "workstation $i: dockerd did not start; see $dir/dockerd.log" >&2; tail -5 "$dir/dockerd.log" >&2; return 1
}

stop_engine() {
  local pidfile=$lab/ws$1/docker.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
}

case $cmd in
  up)
    n=${3:?N}; octet=${4:-77}
    command -v /usr/sbin/sshd >/dev/null || {
      # Installed without starting Debian's own sshd (the lab starts one per workstation).
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
      install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openssh-server >/dev/null; }
      install || { apt-get update -q >/dev/null && install; }
      rm -f /usr/sbin/policy-rc.d
    }
    mkdir -p "$lab/bin" /run/sshd
    [ -f "$lab/key" ] || ssh-keygen -q -t ed25519 -N "" -f "$lab/key"
    [ -f "$lab/host_key" ] || ssh-keygen -q -t ed25519 -N "" -f "$lab/host_key"
    ip link show "$bridge" >/dev/null 2>&1 || {
      ip link add "$bridge" type bridge
      ip addr add "10.$octet.0.1/24" dev "$bridge"
      ip link set "$bridge" up
    }
    # A LAN switch forwards between its ports. This machine's dockerd sets FORWARD to DROP
    # and, with br_netfilter, that chain also sees frames bridged between the lab's ports:
    # without this rule one workstation (or a visitor) could not reach another's containers.
    iptables -C DOCKER-USER -i "$bridge" -o "$bridge" -j ACCEPT 2>/dev/null || iptables -I DOCKER-USER -i "$bridge" -o "$bridge" -j ACCEPT
    : >"$lab/ssh_config"
    echo "LAB_SUBNET=10.$octet.0.0/24" >"$lab/lab.env"
    for i in $(seq 1 "$n"); do
      addr=10.$octet.0.$((10 + i))
      if ! ip netns list | grep -qx "$(ns "$i")\( .*\)\?"; then
        ip netns add "$(ns "$i")"
        ip netns exec "$(ns "$i")" ip link set lo up
        ip link add "${prefix}v$i" type veth peer name "${prefix}p$i"
        ip link set "${prefix}p$i" netns "$(ns "$i")"
        ip link set "${prefix}v$i" master "$bridge" up
        ip netns exec "$(ns "$i")" ip link set "${prefix}p$i" name lan0
        ip netns exec "$(ns "$i")" ip addr add "$addr/24" dev lan0
        ip netns exec "$(ns "$i")" ip link set lan0 up
      fi
      mkdir -p "$lab/ws$i"
      docker -H "unix://$(sock "$i")" version >/dev/null 2>&1 || start_engine "$i"
      cat >"$lab/ws$i/sshd_config" <<EOF
ListenAddress $addr
HostKey $lab/host_key
AuthorizedKeysFile $lab/key.pub
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile $lab/ws$i/sshd.pid
SetEnv DOCKER_HOST=unix://$(sock "$i")
EOF
      [ -f "$lab/ws$i/sshd.pid" ] && kill -0 "$(cat "$lab/ws$i/sshd.pid")" 2>/dev/null \
        || nsenter --net="/run/netns/$(ns "$i")" /usr/sbin/sshd -f "$lab/ws$i/sshd_config" -E "$lab/ws$i/sshd.log"
      cat >>"$lab/ssh_config" <<EOF
Host $(ns "$i")
  HostName $addr
  User root
  IdentityFile $lab/key
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  ControlMaster auto
  ControlPath $lab/ws$i/ssh-%C
  ControlPersist 120
EOF
      echo "WS${i}_ADDR=$addr" >>"$lab/lab.env"
    done
    printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$lab/ssh_config" >"$lab/bin/ssh"
    chmod +x "$lab/bin/ssh"
    for i in $(seq 1 "$n"); do
      PATH="$lab/bin:$PATH" docker -H "ssh://$(ns "$i")" version --format '{{.Server.Version}}' >/dev/null \
        || { echo "workstation $i: docker over ssh does not answer" >&2; exit 1; }
    done
    echo "$lab" ;;
  stop) stop_engine "${3:?I}" ;;
  # A workstation lost for good: its containers die at once (SIGKILL: no clean shutdown,
  # as in a power cut), its engine stops, its volumes are deleted.
  lose)
    docker -H "unix://$(sock "${3:?I}")" ps -q | xargs -r docker -H "unix://$(sock "$3")" kill >/dev/null
    stop_engine "$3"
    rm -rf "$data/ws$3/volumes" ;;
  probe|visit)
    # A visitor's laptop on the LAN: its own namespace on the bridge at .250, no engine, no key.
    visitor="${prefix}-visitor"
    if ! ip netns list | grep -qx "$visitor\( .*\)\?"; then
      ip netns add "$visitor"
      ip link add "${prefix}vv" type veth peer name "${prefix}pv"
      ip link set "${prefix}pv" netns "$visitor"
      ip link set "${prefix}vv" master "$bridge" up
      ip netns exec "$visitor" ip link set lo up
      ip netns exec "$visitor" ip addr add "$(sed -n 's#^LAB_SUBNET=\(.*\)\.0/24$#\1.250/24#p' "$lab/lab.env")" dev "${prefix}pv"
      ip netns exec "$visitor" ip link set "${prefix}pv" up
    fi
    shift 2
    [ "$cmd" = visit ] && exec ip netns exec "$visitor" "$@"
    for target in "$@"; do
      if ip netns exec "$visitor" timeout 3 bash -c "exec 3<>/dev/tcp/${target%:*}/${target##*:}" 2>/dev/null; then echo "$target open"; else echo "$target closed"; fi
    done ;;
  start) start_engine "${3:?I}" ;;
  down)
    shopt -s nullglob
    for d in "$lab"/ws*; do
      i=${d##*/ws}
      [ -f "$d/sshd.pid" ] && kill "$(cat "$d/sshd.pid")" 2>/dev/null || true
      for s in "$d"/ssh-*; do /usr/bin/ssh -F "$lab/ssh_config" -O exit -o ControlPath="$s" x 2>/dev/null || true; done
      if docker -H "unix://$(sock "$i")" version >/dev/null 2>&1; then
        # Containers, networks and volumes go with the data root; stop them cleanly first.
        docker -H "unix://$(sock "$i")" ps -aq | xargs -r docker -H "unix://$(sock "$i")" rm -f >/dev/null 2>&1 || true
      fi
      stop_engine "$i"
      ip netns del "$(ns "$i")" 2>/dev/null || true
      ip link del "${prefix}v$i" 2>/dev/null || true
    done
    iptables -D DOCKER-USER -i "$bridge" -o "$bridge" -j ACCEPT 2>/dev/null || true
    ip netns del "${prefix}-visitor" 2>/dev/null || true
    ip link del "${prefix}vv" 2>/dev/null || true
    ip link del "$bridge" 2>/dev/null || true
    # Left mounts under the data root (overlay layers) would keep it from going.
    grep -o " $data/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$lab" "$data" ;;
  *) echo "usage: workstations.sh up|stop|lose|start|probe|visit|down PREFIX ..." >&2; exit 2 ;;
esac
