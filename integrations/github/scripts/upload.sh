#!/usr/bin/env bash
# The upload action's step: artifactctl stores (and signs, attaches) and the outputs name the
# object. Inputs arrive as env (never spliced into the script), so none can inject shell.
set -euo pipefail
command -v artifactctl >/dev/null || {
  echo "::error title=Artifact Store upload::artifactctl is not on PATH (install it in an earlier step)"
  exit 1
}
target="s3://$UPLOAD_BUCKET/$UPLOAD_KEY"
artifactctl cp --quiet "$UPLOAD_FILE" "$target"
if [[ -n "${UPLOAD_SIGN_KEY:-}" ]]; then
  artifactctl sign --quiet --key "$UPLOAD_SIGN_KEY" --file "$UPLOAD_FILE" "$target"
fi
if [[ -n "${UPLOAD_SBOM:-}" ]]; then
  artifactctl attach --quiet --kind sbom --media-type "$UPLOAD_SBOM_MEDIA_TYPE" --file "$UPLOAD_SBOM" "$target"
fi
digest=$(sha256sum "$UPLOAD_FILE" | cut -d' ' -f1)
{
  echo "uri=${ARTIFACT_STORE_ENDPOINT%/}/$UPLOAD_BUCKET/$UPLOAD_KEY"
  echo "digest=sha256:$digest"
} >>"$GITHUB_OUTPUT"
