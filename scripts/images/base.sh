#!/usr/bin/env bash
# Make the local base image the container tests build on, and print its name on stdout
# (progress goes to stderr). Idempotent: made once per machine.
#
#   scripts/images/base.sh          # localhost/debian:bookworm-min
#
# No base image can be pulled on the test machines, so the Containerfiles' BASE is replaced by
# a Debian bookworm made here with debootstrap (minbase, plus python3 and python3-venv: the
# Python the gateway image runs on), from the Debian mirror apt already uses. The root tree is
# kept as a tarball in $ARTIFACT_STORE_CACHE/images/ and imported into podman's store whenever
# the image is missing there. debootstrap comes from Debian (apt-get, as root) when absent.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

IMAGE=localhost/debian:bookworm-min
SUITE=bookworm
PACKAGES=python3,python3-venv
CACHE="$ARTIFACT_STORE_CACHE/images"
TARBALL="$CACHE/debian-$SUITE-min.tar"

log() { echo "[base image] $*" >&2; }

if podman image exists "$IMAGE"; then echo "$IMAGE"; exit 0; fi

# mirror: the first deb.debian.org-style URI of the host's own apt sources.
mirror() {
  local found
  found="$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
    | grep -v security | grep -oE 'https?://[^ ]+' | head -n 1)"
  echo "${found:-http://deb.debian.org/debian}"
}

if [[ ! -s "$TARBALL" ]]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    [[ $EUID -eq 0 ]] || { log "debootstrap missing, and only root may apt-get install it"; exit 1; }
    log "apt-get install debootstrap (first run only)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq install debootstrap >&2
  fi
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' EXIT
  log "debootstrap --variant=minbase $SUITE from $(mirror) (first run only)"
  start=$SECONDS
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$(mirror)" >&2
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  mkdir -p "$CACHE"
  tar -C "$root" --numeric-owner -cf "$TARBALL.partial" .
  mv "$TARBALL.partial" "$TARBALL"
  log "made $TARBALL in $((SECONDS - start)) s"
fi
log "podman import $TARBALL"
podman import --quiet "$TARBALL" "$IMAGE" >/dev/null
echo "$IMAGE"
