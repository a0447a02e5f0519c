"""The OCI front door: ``/v2/`` and its token endpoint (DESIGN.md §5)."""
