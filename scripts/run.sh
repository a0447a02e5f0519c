#!/usr/bin/env bash
# The local stack (make run): the registry and the gateway on 127.0.0.1:9000, Ctrl-C stops both.
source "$(dirname "$0")/lib.sh"
ensure_python_env
exec .venv/bin/python scripts/run_stack.py "$@"
