"""What the domain needs from the outside world, declared as Protocols it is typed against.

``app.py`` wires the adapters: ``gateway.registry.RegistryClient`` and ``gateway.index.SqlIndex``.
"""

from gateway.domain.ports.index import Index
from gateway.domain.ports.registry import Registry
from gateway.domain.ports.signer import Signer

__all__ = ["Index", "Registry", "Signer"]
