#!/usr/bin/env bash
# The download action's step: artifactctl fetches (checksum checked; a trusted signature
# required when asked) and the outputs name what was written. Inputs arrive as env only.
set -euo pipefail
command -v artifactctl >/dev/null || {
  echo "::error title=Artifact Store download::artifactctl is not on PATH (install it in an earlier step)"
  exit 1
}
source="s3://$DOWNLOAD_BUCKET/$DOWNLOAD_KEY"
if [[ "${DOWNLOAD_REQUIRE_SIGNATURE:-false}" == true ]]; then
  artifactctl cp --quiet --require-signature "$source" "$DOWNLOAD_FILE"
else
  artifactctl cp --quiet "$source" "$DOWNLOAD_FILE"
fi
digest=$(sha256sum "$DOWNLOAD_FILE" | cut -d' ' -f1)
{
  echo "uri=${ARTIFACT_STORE_ENDPOINT%/}/$DOWNLOAD_BUCKET/$DOWNLOAD_KEY"
  echo "digest=sha256:$digest"
} >>"$GITHUB_OUTPUT"
