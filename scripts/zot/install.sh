#!/usr/bin/env bash
# Find or build the pinned Zot and print the path of its executable on stdout (progress goes
# to stderr). Idempotent; used by the test session, the local stack and the benchmarks
# (tests/fixtures/registries.py).
#
#   scripts/zot/install.sh          # zot
#   scripts/zot/install.sh zb       # Zot's benchmark, built from the same source
#
# Zot is looked for in this order: $ZOT_BIN (zb: $ZB_BIN), PATH, the cache
# ($ARTIFACT_STORE_CACHE/bin/zot-<version>-<tags>/), `go install` of the release (what works
# with the open internet), then a build from the unmodified source archive or checkout named by
# $ARTIFACT_STORE_ZOT_SOURCE (default: ../shared/vendor/zot/zot-v2.1.20.tar.gz beside the
# project, when it exists; an archive's SHA-256 is checked first). Builds land in the cache
# only when complete, so a cold build (minutes on 2 cores) happens once per machine.
#
# The extension tags (docs/ARCHITECTURE.md says why): metrics (Prometheus /metrics, reused by
# the product) and scrub (integrity checks of the stored blobs). Not search: nothing uses it
# and it pulls trivy (a 25 min build).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ZOT_VERSION=v2.1.20
ZOT_TAGS=metrics,scrub
ZOT_MODULE=zotregistry.dev/zot/v2
ZOT_ARCHIVE_SHA256=1892da8710c73abaf726cb968001c7b81e3f6a2ceaa19c735ae3128ef23b1632

what="${1:-zot}"
case "$what" in
  zot) explicit="${ZOT_BIN:-}"; tags="$ZOT_TAGS" ;;
  zb) explicit="${ZB_BIN:-}"; tags="" ;;
  *) echo "usage: $0 [zot|zb]" >&2; exit 2 ;;
esac
log() { echo "[zot] $*" >&2; }

if [[ -n "$explicit" ]]; then
  [[ -x "$explicit" ]] || { log "\$${what^^}_BIN=$explicit is not executable"; exit 1; }
  echo "$explicit"; exit 0
fi
if on_path="$(command -v "$what")"; then echo "$on_path"; exit 0; fi

dir="$ARTIFACT_STORE_CACHE/bin/$what-$ZOT_VERSION${tags:+-${tags//,/_}}"
if [[ -x "$dir/$what" ]]; then echo "$dir/$what"; exit 0; fi
# One build at a time per binary: a second install (another test session, the local stack)
# waits here and then finds the first one's result, instead of emptying its .partial folder.
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9 || { log "cannot lock $dir.lock"; exit 1; }
if [[ -x "$dir/$what" ]]; then echo "$dir/$what"; exit 0; fi
command -v go >/dev/null 2>&1 || { log "Go is needed to build $what"; exit 1; }

export CGO_ENABLED=0 GOEXPERIMENT=jsonv2
rm -rf "$dir.partial"
mkdir -p "$dir.partial"
log "go install $ZOT_MODULE/cmd/$what@$ZOT_VERSION (first run only)"
if GOBIN="$dir.partial" go install -trimpath -ldflags "-s -w" ${tags:+-tags "$tags"} \
    "$ZOT_MODULE/cmd/$what@$ZOT_VERSION" 2>"$dir.partial/go-install.log"; then
  rm -f "$dir.partial/go-install.log"
else
  log "go install failed: $(tail -n 1 "$dir.partial/go-install.log" | cut -c1-300)"
  source_path="${ARTIFACT_STORE_ZOT_SOURCE:-}"
  default_archive="$ROOT/../shared/vendor/zot/zot-$ZOT_VERSION.tar.gz"
  if [[ -z "$source_path" && -f "$default_archive" ]]; then source_path="$default_archive"; fi
  [[ -n "$source_path" ]] || {
    log "no Zot source: $default_archive does not exist; set ARTIFACT_STORE_ZOT_SOURCE to a Zot $ZOT_VERSION archive or checkout"
    exit 1
  }
  tree="$dir.partial/src"
  if [[ -d "$source_path" ]]; then  # a checkout
    tree="$source_path"
  else
    actual="$(sha256sum "$source_path" | cut -d' ' -f1)"
    if [[ "$actual" != "$ZOT_ARCHIVE_SHA256" ]]; then
      log "$source_path: SHA-256 $actual, expected $ZOT_ARCHIVE_SHA256; not building it"
      exit 1
    fi
    mkdir -p "$tree"
    tar -xzf "$source_path" -C "$tree" --strip-components=1  # a git archive: one top folder
  fi
  log "building $what $ZOT_VERSION${tags:+ (tags $tags)} from $source_path (minutes, once per machine)"
  start=$SECONDS
  (cd "$tree" && go build -trimpath -ldflags "-s -w" ${tags:+-tags "$tags"} \
    -o "$dir.partial/$what" "./cmd/$what") >&2
  log "built in $((SECONDS - start)) s"
  rm -rf "$dir.partial/src" "$dir.partial/go-install.log"
fi
rm -rf "$dir"
mv "$dir.partial" "$dir"
echo "$dir/$what"
