#!/usr/bin/env bash
# Install one OCI client the interoperability and conformance tests run against a real registry
# (tests/integration/api/test_interop_tools.py, tests/integration/registry/
# test_conformance_direct.py) and print the path of its executable on stdout (progress goes to
# stderr). Idempotent.
#
#   scripts/tools/install.sh cosign|oras|crane|regctl|conformance|podman|skopeo|helm|kube-apiserver|etcd|actionlint|tekton-lint|versitygw|redis-server|haproxy|chromium
#
# cosign, oras, crane, regctl and the OCI distribution-spec conformance suite come from the Go
# module proxy by name (`go install` of a pinned version; cosign and oras are the pins of
# docs/supply-chain.md). Each lives in $ARTIFACT_STORE_CACHE/tools/<tool>-<version>/ (default
# ~/.cache/artifact-store), built in a temporary directory and moved there only when complete.
# A cold cosign build takes several minutes on 2 cores. helm (the chart's offline checks,
# tests/unit/deploy/test_chart.py) is `go install helm.sh/helm/v3/cmd/helm` of the pin.
#
# podman and skopeo are Debian's (`apt-get install podman skopeo runc`, as root; apt is skipped
# when the executable is already there), run in this sandbox through the drop-in
# /etc/containers/containers.conf.d/50-sandbox.conf (runc, cgroupfs, the host network, a file
# events log), written here whenever it differs.
#
# kube-apiserver and etcd serve the operator's tests (tests/integration/operator/).
# kube-apiserver v1.34.3 is built from k8s.io/kubernetes through the wrapper module in
# scripts/tools/kube-apiserver/ (`go install` refuses that module: its go.mod replaces the staging
# modules by relative paths): about 12 minutes cold on 2 cores, so scripts/test.sh starts it in the
# background before pytest. etcd is Debian's etcd-server; its own service is stopped and disabled.
#
# actionlint (the GitHub Actions' example workflow, integrations/github/) is `go install` of its
# pin; tekton-lint (the Tekton Tasks, integrations/tekton/) is npm's @ibm/tekton-lint, installed
# into its own prefix with npm's cache under $ARTIFACT_STORE_CACHE/npm.
#
# The scale-out tests (tests/integration/scaleout/) and `scripts/run.sh --profile scale-out`:
# versitygw (a real S3 server, its posix backend, for Zot's S3 storage driver) is `go install`
# of its pin (~4.5 min cold); redis-server (Zot's shared cache and sessions) and haproxy (the
# load balancer) are Debian's; their packaged services are stopped: the tests start their own.
#
# chromium (the web console's browser tests, tests/integration/console/) is Debian's chromium,
# driven by Playwright (PyPI) through its executable path: Playwright's own browser download
# cannot work on these machines.
#
# Each tool's install holds an exclusive flock on $TOOLS/.<tool>.lock: a second, concurrent install
# of the same tool waits for the first and then finds the finished result.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

COSIGN_VERSION=v3.1.2
ORAS_VERSION=v1.3.3
CRANE_VERSION=v0.21.9
REGCTL_VERSION=v0.11.5
HELM_VERSION=v3.22.0
# The suite's module has no release tags: this is a pseudo-version of its main branch (a plain
# `package main`: `go install` builds it; `go test` of it is deprecated upstream).
CONFORMANCE_VERSION=v0.0.0-20260831232431-97274622c111
KUBE_APISERVER_VERSION=v1.34.3
ACTIONLINT_VERSION=v1.7.12
TEKTON_LINT_VERSION=1.1.0
VERSITYGW_VERSION=v1.8.0
DEBIAN_PACKAGES=(podman skopeo runc)
CONTAINERS_DROP_IN=/etc/containers/containers.conf.d/50-sandbox.conf

TOOLS="$ARTIFACT_STORE_CACHE/tools"
tool="${1:-}"

log() { echo "[install $tool] $*" >&2; }

if [[ -n "$tool" && "$tool" != */* ]]; then
  mkdir -p "$TOOLS"
  exec 9>"$TOOLS/.$tool.lock"
  flock 9 || { log "cannot lock $TOOLS/.$tool.lock"; exit 1; }
fi

# kube_apiserver_build: kube-apiserver in $TOOLS/kube-apiserver-<version>/, built once from the
# wrapper module (copied out of the checkout so the build never writes into it).
kube_apiserver_build() {
  local dir="$TOOLS/kube-apiserver-$KUBE_APISERVER_VERSION"
  if [[ ! -x "$dir/kube-apiserver" ]]; then
    command -v go >/dev/null 2>&1 || { log "Go is needed to build kube-apiserver"; exit 1; }
    log "go build k8s.io/kubernetes/cmd/kube-apiserver $KUBE_APISERVER_VERSION (first run only, ~12 min)"
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial/src"
    cp "$ROOT"/scripts/tools/kube-apiserver/{go.mod,go.sum,main.go} "$dir.partial/src/"
    (cd "$dir.partial/src" && CGO_ENABLED=0 GOFLAGS="-trimpath -mod=mod" \
      go build -o "$dir.partial/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver) >&2
    rm -rf "$dir.partial/src" "$dir"
    mv "$dir.partial" "$dir"
  fi
  echo "$dir/kube-apiserver"
}

# etcd_install: Debian's etcd-server unless etcd is on PATH; the packaged service (started by the
# package's postinst where systemd runs) is stopped and disabled: the tests start their own etcd.
etcd_install() {
  if ! command -v etcd >/dev/null 2>&1; then
    [[ $EUID -eq 0 ]] || { log "etcd missing, and only root may apt-get install"; exit 1; }
    command -v apt-get >/dev/null 2>&1 || { log "etcd missing, and there is no apt-get"; exit 1; }
    log "apt-get install etcd-server (first run only)"
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -qq)
    if ! "${apt[@]}" install etcd-server >&2; then
      log "apt-get install failed: apt-get update, then again"
      "${apt[@]}" update >&2
      "${apt[@]}" install etcd-server >&2
    fi
    if command -v systemctl >/dev/null 2>&1; then
      systemctl disable --now etcd >/dev/null 2>&1 || true
    fi
    if command -v service >/dev/null 2>&1; then
      service etcd stop >/dev/null 2>&1 || true
    fi
    if [[ -f /run/etcd.pid ]]; then kill "$(cat /run/etcd.pid)" 2>/dev/null || true; fi
  fi
  command -v etcd
}

# apt_service PACKAGE BINARY: Debian's PACKAGE unless BINARY is on PATH, its packaged service
# stopped and disabled (the tests and the local stack start their own, on free ports).
apt_service() {
  local package="$1" binary="$2"
  if ! command -v "$binary" >/dev/null 2>&1; then
    [[ $EUID -eq 0 ]] || { log "$binary missing, and only root may apt-get install"; exit 1; }
    command -v apt-get >/dev/null 2>&1 || { log "$binary missing, and there is no apt-get"; exit 1; }
    log "apt-get install $package (first run only)"
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -qq)
    if ! "${apt[@]}" install "$package" >&2; then
      log "apt-get install failed: apt-get update, then again"
      "${apt[@]}" update >&2
      "${apt[@]}" install "$package" >&2
    fi
    if command -v systemctl >/dev/null 2>&1; then
      systemctl disable --now "$package" >/dev/null 2>&1 || true
    fi
    if command -v service >/dev/null 2>&1; then
      service "$package" stop >/dev/null 2>&1 || true
    fi
  fi
  command -v "$binary"
}

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

containers_drop_in() {
  cat <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
netns = "host"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
}

# npm_install PACKAGE VERSION BINARY: PACKAGE@VERSION in $TOOLS/<BINARY>-<VERSION>/, built in a
# temporary prefix and moved there only when complete; prints its executable's path.
npm_install() {
  local package="$1" version="$2" binary="$3" dir="$TOOLS/$3-$2"
  if [[ ! -x "$dir/node_modules/.bin/$binary" ]]; then
    command -v npm >/dev/null 2>&1 || { log "npm is needed to install $package"; exit 1; }
    log "npm install $package@$version (first run only)"
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial"
    npm install --prefix "$dir.partial" --cache "$ARTIFACT_STORE_CACHE/npm" --no-audit --no-fund \
      --loglevel=error "$package@$version" >&2
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
  fi
  echo "$dir/node_modules/.bin/$binary"
}

# debian_install BINARY...: Debian's podman, skopeo and runc unless every BINARY is on PATH
# (`apt-get update` only when the install fails on a stale or empty package list); then the
# sandbox drop-in. Prints the path of the first BINARY.
debian_install() {
  local missing=() binary
  for binary in "$@"; do
    command -v "$binary" >/dev/null 2>&1 || missing+=("$binary")
  done
  if ((${#missing[@]})); then
    [[ $EUID -eq 0 ]] || { log "${missing[*]} missing, and only root may apt-get install"; exit 1; }
    command -v apt-get >/dev/null 2>&1 || { log "${missing[*]} missing, and there is no apt-get"; exit 1; }
    log "apt-get install ${DEBIAN_PACKAGES[*]} (first run only)"
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -qq)  # wait for another apt, don't fail
    if ! "${apt[@]}" install "${DEBIAN_PACKAGES[@]}" >&2; then
      log "apt-get install failed: apt-get update, then again"
      "${apt[@]}" update >&2
      "${apt[@]}" install "${DEBIAN_PACKAGES[@]}" >&2
    fi
  fi
  if [[ "$(cat "$CONTAINERS_DROP_IN" 2>/dev/null)" != "$(containers_drop_in)" ]]; then
    if [[ $EUID -eq 0 ]]; then
      log "writing $CONTAINERS_DROP_IN"
      mkdir -p "$(dirname "$CONTAINERS_DROP_IN")"
      containers_drop_in >"$CONTAINERS_DROP_IN"
    else
      log "warning: $CONTAINERS_DROP_IN is missing or differs, and only root may write it"
    fi
  fi
  command -v "$1"
}

case "$tool" in
  cosign) exe="$(go_install github.com/sigstore/cosign/v3/cmd/cosign "$COSIGN_VERSION" cosign)" ;;
  oras) exe="$(go_install oras.land/oras/cmd/oras "$ORAS_VERSION" oras)" ;;
  crane) exe="$(go_install github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION" crane)" ;;
  regctl) exe="$(go_install github.com/regclient/regclient/cmd/regctl "$REGCTL_VERSION" regctl)" ;;
  conformance)
    exe="$(go_install github.com/opencontainers/distribution-spec/conformance \
      "$CONFORMANCE_VERSION" conformance)"
    ;;
  helm) exe="$(go_install helm.sh/helm/v3/cmd/helm "$HELM_VERSION" helm)" ;;
  podman) exe="$(debian_install podman runc)" ;;
  skopeo) exe="$(debian_install skopeo)" ;;
  kube-apiserver) exe="$(kube_apiserver_build)" ;;
  etcd) exe="$(etcd_install)" ;;
  actionlint) exe="$(go_install github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION" actionlint)" ;;
  tekton-lint) exe="$(npm_install @ibm/tekton-lint "$TEKTON_LINT_VERSION" tekton-lint)" ;;
  versitygw) exe="$(go_install github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION" versitygw)" ;;
  redis-server) exe="$(apt_service redis-server redis-server)" ;;
  haproxy) exe="$(apt_service haproxy haproxy)" ;;
  chromium) exe="$(apt_service chromium chromium)" ;;
  *)
    echo "usage: $0 cosign|oras|crane|regctl|conformance|podman|skopeo|helm|kube-apiserver|etcd|actionlint|tekton-lint|versitygw|redis-server|haproxy|chromium" >&2
    exit 2
    ;;
esac

[[ -x "$exe" ]] || { log "installed, but $exe is missing"; exit 1; }
echo "$exe"
