"""The supply chain: signatures, SBOMs and attestations as OCI referrers of an object, who a
bucket trusts, verdicts, require-signature, and the gateway's own receipts.

Object storage (``domain/objects.py``, ``multipart.py``) knows none of it: it calls the
supply chain only through the two seams of ``domain/seams.py``, wired in ``wing.py``.
"""
