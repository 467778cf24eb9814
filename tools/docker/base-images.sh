#!/usr/bin/env bash
# Builds the local base and service images the Dockerfile and compose.yaml use where no image
# registry is reachable. Each image is built once: one that already exists is skipped (--force
# rebuilds them all). Needs root (debootstrap) and a running Docker engine.
#
#   social-local/debian:bookworm    debootstrap --variant=minbase + ca-certificates (+ this host's CAs)
#   social-local/python:bookworm    + python3, python3-venv, python3-pip  (BASE_IMAGE of the app image)
#   social-local/postgres:bookworm  PostgreSQL 15 (POSTGRES_USER/PASSWORD/DB like the official image)
#   social-local/redis:bookworm     Redis 7
#   social-local/rabbitmq:bookworm  RabbitMQ with the management plugin (RABBITMQ_DEFAULT_USER/PASS)
#   social-local/nginx:bookworm     nginx (reads /etc/nginx/conf.d/*.conf like the official image)
#
# The host's CA bundle goes into the Debian base so that pip and apt inside builds (run with
# --network host) trust whatever this host trusts.
set -euo pipefail
cd "$(dirname "$0")"

DOCKER=${DOCKER:-$(command -v /usr/bin/docker || command -v docker)}
PREFIX=${LOCAL_IMAGE_PREFIX:-social-local}
TAG=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
HOST_CA=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
FORCE=""
[ "${1:-}" = "--force" ] && FORCE=1

exists() { [ -z "$FORCE" ] && "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
log() { echo "base-images: $* ($(date -u +%H:%M:%S))"; }

debian="$PREFIX/debian:$TAG"
if exists "$debian"; then
  log "$debian exists"
else
  command -v debootstrap >/dev/null || { echo "base-images: debootstrap is not installed" >&2; exit 1; }
  rootfs=$(mktemp -d /var/tmp/social-rootfs.XXXXXX)
  # debootstrap mounts /proc and /sys inside the tree while it works: unmount before removing.
  cleanup() {
    grep -o " $rootfs/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf --one-file-system "$rootfs" "$rootfs.log"
  }
  trap cleanup EXIT
  log "debootstrap bookworm into $rootfs"
  started=$SECONDS
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 \
    || { tail -n 30 "$rootfs.log" >&2; exit 1; }
  if [ -f "$HOST_CA" ]; then
    # Kept as a local CA, so a later update-ca-certificates (a package's trigger) keeps it.
    cp "$HOST_CA" "$rootfs/usr/local/share/ca-certificates/host-ca-bundle.crt"
    chroot "$rootfs" update-ca-certificates >/dev/null 2>&1 || cp "$HOST_CA" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  fi
  # Like the official slim images: no recommends, no docs/man pages/translations, and apt keeps
  # neither downloaded packages nor (after a build's rm) lists.
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$rootfs/etc/apt/apt.conf.d/90local-image"
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/90local-image"
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  grep -o " $rootfs/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  log "docker import $debian"
  tar --one-file-system -C "$rootfs" -c . | "$DOCKER" import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$debian" >/dev/null
  cleanup
  trap - EXIT
  log "$debian built in $((SECONDS - started)) s"
fi

for name in python postgres redis rabbitmq nginx; do
  image="$PREFIX/$name:$TAG"
  if exists "$image"; then
    log "$image exists"
    continue
  fi
  log "building $image"
  started=$SECONDS
  "$DOCKER" build --network host --build-arg "BASE=$debian" -t "$image" "images/$name" >"/tmp/social-image-$name.log" 2>&1 \
    || { tail -n 30 "/tmp/social-image-$name.log" >&2; exit 1; }
  log "$image built in $((SECONDS - started)) s"
done
