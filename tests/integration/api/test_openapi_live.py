"""A running gateway serves exactly the committed clients/openapi.json (the SDKs' types come
from that file, so a drift here is a drift in three SDKs)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.fixtures.servers import RunningGateway

ROOT = Path(__file__).resolve().parents[3]


def test_live_document_equals_the_committed_one(gateway: RunningGateway) -> None:
    served = httpx.get(f"{gateway.url}/_artifacts/openapi.json", timeout=10).json()
    committed = json.loads((ROOT / "clients" / "openapi.json").read_text())
    assert served == committed
