"""The operator's kopf settings: what makes deletion and status behave as documented."""

from __future__ import annotations

import kopf
from artifact_store_operator.handlers import configure


def test_a_deleted_store_is_released_soon_after_its_cleanup() -> None:
    """kopf waits for a running resync timer before it removes the finalizer, polling every
    60 s by default: a CR deleted mid-resync hung for a minute after cleanup (seen in CI)."""
    settings = kopf.OperatorSettings()
    configure(settings=settings)
    assert settings.background.cancellation_polling <= 1
    assert settings.persistence.finalizer == "artifactstore.dev/cleanup"
