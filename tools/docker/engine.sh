#!/usr/bin/env bash
# Makes a Docker engine available on this machine (root): Debian's docker.io, docker-compose (1.29)
# and debootstrap when missing, then dockerd in the background (log: /var/log/dockerd.log) when none
# answers. Idempotent and quick when everything is there already.
set -euo pipefail
DOCKER=${DOCKER:-/usr/bin/docker}
log() { echo "engine: $*"; }

need=()
command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} from apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)

if ! "$DOCKER" info >/dev/null 2>&1; then
  log "starting dockerd"
  # setsid: the daemon outlives this script (and the make or CI step that ran it).
  setsid dockerd >>/var/log/dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 60); do
    "$DOCKER" info >/dev/null 2>&1 && break
    sleep 1
  done
  "$DOCKER" info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/dockerd.log"; tail -n 20 /var/log/dockerd.log; exit 1; }
fi
log "ready ($("$DOCKER" version --format 'engine {{.Server.Version}}'), $(docker-compose version --short 2>/dev/null || echo 'no docker-compose'))"
