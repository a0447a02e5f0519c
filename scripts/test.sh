#!/usr/bin/env bash
# The test command (make test, .ci/run): lint, types, then every test with coverage.
# Installs what it needs: the Python environment, and the registry the tests start.
source "$(dirname "$0")/lib.sh"
ensure_python_env
# Zot first, in the open: a cold build takes minutes (the test session would find it anyway).
if [[ "${ARTIFACT_STORE_REGISTRY:-auto}" != distribution ]]; then
  scripts/zot/install.sh >/dev/null || [[ "${CI:-}" != true ]]
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest --cov=gateway --cov-report=term --cov-fail-under=90 "$@"
