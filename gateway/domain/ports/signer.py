"""The signer port: the deployment's own key, which signs a receipt for each stored object.

``gateway.domain.supply.receipts.ReceiptSigner`` holds an ECDSA key in process; an HSM or KMS
would be another adapter of the same four members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gateway.domain.supply.trust import TrustedKey


class Signer(Protocol):
    key_id: str
    public_pem: str

    def trusted_key(self) -> TrustedKey:
        """The key as a bucket's trust settings name it."""
        ...

    def bundle(self, sha256_hex: str) -> bytes:
        """A sigstore bundle signing the object whose SHA-256 is ``sha256_hex``."""
        ...
