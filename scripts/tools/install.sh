#!/usr/bin/env bash
# Install one OCI supply-chain tool the interoperability tests run (tests/integration/api/
# test_interop_tools.py) and print the path of its executable on stdout (progress goes to
# stderr). Idempotent: each tool lives in $ARTIFACT_STORE_CACHE/tools/<tool>-<version>/
# (default ~/.cache/artifact-store), built in a temporary directory and moved there only when
# complete.
#
#   scripts/tools/install.sh cosign|oras
#
# Both come from the Go module proxy by name (`go install`); the versions are the pins of
# docs/supply-chain.md. A cold cosign build takes several minutes on 2 cores.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

COSIGN_VERSION=v3.1.2
ORAS_VERSION=v1.3.3

TOOLS="$ARTIFACT_STORE_CACHE/tools"
tool="${1:-}"

log() { echo "[install $tool] $*" >&2; }

# go_install MODULE VERSION BINARY: the binary in $TOOLS/<tool>-<version>/, built once.
go_install() {
  local dir="$TOOLS/$tool-$2"
  if [[ ! -x "$dir/$3" ]]; then
    command -v go >/dev/null 2>&1 || { log "Go is needed to build $tool"; exit 1; }
    log "go install $1@$2 (first run only)"
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial"
    CGO_ENABLED=0 GOBIN="$dir.partial" GOFLAGS="-trimpath" go install "$1@$2" >&2
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
  fi
  echo "$dir/$3"
}

case "$tool" in
  cosign) exe="$(go_install github.com/sigstore/cosign/v3/cmd/cosign "$COSIGN_VERSION" cosign)" ;;
  oras) exe="$(go_install oras.land/oras/cmd/oras "$ORAS_VERSION" oras)" ;;
  *)
    echo "usage: $0 cosign|oras" >&2
    exit 2
    ;;
esac

[[ -x "$exe" ]] || { log "installed, but $exe is missing"; exit 1; }
echo "$exe"
