#!/usr/bin/env bash
# The local stack (make run): the registry and the gateway on 127.0.0.1:9000, Ctrl-C stops both.
source "$(dirname "$0")/lib.sh"
ensure_python_env
# The web console (/_artifacts/ui/): built from console/ when npm is here; else the gateway
# answers 503 there, saying how to build it.
scripts/console/build.sh >/dev/null || echo "[run] the web console was not built (npm missing?)" >&2
exec .venv/bin/python scripts/run_stack.py "$@"
