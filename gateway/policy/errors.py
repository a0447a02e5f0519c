"""The one error the policy layer raises: the S3 edge answers it as ``MalformedPolicy``.

Evaluation never raises; only parsing does, so a stored (already parsed) policy can always
be evaluated.
"""

from __future__ import annotations


class MalformedPolicy(ValueError):
    """A policy document S3 would refuse; ``reason`` is the human message for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
