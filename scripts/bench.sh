#!/usr/bin/env bash
# The benchmark (make bench): the registry's own rates, the same work through the gateway,
# a bucket of many small objects. Prints a table, writes bench/results/latest.json.
# Flags go to bench/run.py: --scale 100000, --only scale, --sizes 4KiB,1GiB, --quick, --help.
source "$(dirname "$0")/lib.sh"
ensure_python_env
exec .venv/bin/python -m bench.run "$@"
