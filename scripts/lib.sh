# Shared by scripts/*.sh: a Python environment from the lockfile, on any fresh machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ARTIFACT_STORE_CACHE="${ARTIFACT_STORE_CACHE:-$HOME/.cache/artifact-store}"
export UV_CACHE_DIR="${UV_CACHE_DIR:-$ARTIFACT_STORE_CACHE/uv}"
export UV_PYTHON_DOWNLOADS=never
export UV_NATIVE_TLS="${UV_NATIVE_TLS:-1}"  # the system CA store, also where SSL_CERT_FILE is unset

uv_cmd() {
  if command -v uv >/dev/null 2>&1; then uv "$@"; return; fi
  if ! python3 -m uv --version >/dev/null 2>&1; then
    echo "[setup] installing uv from PyPI" >&2
    python3 -m pip install --quiet uv >&2
  fi
  python3 -m uv "$@"
}

ensure_python_env() {
  cd "$ROOT"
  uv_cmd sync --frozen --quiet
}
