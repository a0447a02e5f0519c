#!/usr/bin/env bash
# Mutation testing (R14.10, docs/testing.md#mutation-testing): mutmut 3 over gateway/policy,
# gateway/auth and the object/multipart domain code, each against its unit tests only.
# Slow, so not part of make test or CI. Usage: scripts/mutation.sh [policy|auth|domain ...]
# Flags go to scripts/mutation.py: --budget SECONDS (per area), --jobs N, --fresh,
# --retest-survivors, --help. Prints the scores, writes tests/mutation/results/<date>.json.
source "$(dirname "$0")/lib.sh"
ensure_python_env
exec .venv/bin/python scripts/mutation.py "$@"
