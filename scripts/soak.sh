#!/usr/bin/env bash
# The soak run (make soak): Zot and the gateway as scripts/bench.sh starts them, then a
# fixed-rate, open-loop mix of GET/PUT/LIST/DELETE for --minutes while the gateway's RSS and
# open fds are sampled; writes bench/results/<date>-soak-<label>.json (docs/performance.md, "Soak").
# Flags go to bench/soak.py: --minutes 10 --rate 10, --driver warp, --label NAME, --help.
source "$(dirname "$0")/lib.sh"
ensure_python_env
exec .venv/bin/python -m bench.soak "$@"
