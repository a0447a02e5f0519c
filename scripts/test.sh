#!/usr/bin/env bash
# The test command (make test, .ci/run): lint, types, then every test with coverage.
# Installs what it needs: the Python environment, and the registry the tests start.
source "$(dirname "$0")/lib.sh"
ensure_python_env
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest --cov=gateway --cov-report=term --cov-fail-under=90 "$@"
