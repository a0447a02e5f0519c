#!/usr/bin/env bash
# Puts artifactctl on the job's PATH: the one already there (an earlier step installed it), else
# built from the source of this action's own checkout (the runner checks out the whole
# repository at the action's ref, so cli/ is beside integrations/), with the runner's Go.
set -euo pipefail
if found=$(command -v artifactctl); then
  echo "artifactctl already on PATH: $found"
  exit 0
fi
command -v go >/dev/null || {
  echo "::error title=Artifact Store::artifactctl is not on PATH and there is no Go to build it (add actions/setup-go, or install artifactctl in an earlier step)"
  exit 1
}
source_dir="$GITHUB_ACTION_PATH/../../../cli"
bin_dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/artifactctl-bin"
mkdir -p "$bin_dir"
(cd "$source_dir" && CGO_ENABLED=0 go build -trimpath -o "$bin_dir/artifactctl" ./cmd/artifactctl)
echo "$bin_dir" >>"$GITHUB_PATH"
echo "artifactctl built from $(cd "$source_dir" && pwd): $("$bin_dir/artifactctl" version)"
