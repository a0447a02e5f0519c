"""The Artifact Store operator: reconciles ``ArtifactStore`` resources (artifactstore.dev/v1alpha1)
into the gateway, Zot and their Services, Secrets, Route, monitoring and policies."""

GROUP = "artifactstore.dev"
VERSION = "v1alpha1"
PLURAL = "artifactstores"
FIELD_MANAGER = "artifact-store-operator"
