"""What the JSON API's handlers share, set on ``app.state`` by ``gateway.app`` at start-up."""

from __future__ import annotations

from fastapi import Request

from gateway.auth.keyring import Keyring
from gateway.domain.store import Store
from gateway.shedding import Limiter


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def keyring_of(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


def limiter_of(request: Request) -> Limiter:
    """The process's cap on data requests; none counted when the app was built without one."""
    limiter: Limiter | None = getattr(request.app.state, "limiter", None)
    return limiter or Limiter(0)
