"""The gateway's entry: each protocol's requests observed, and a failure of its own answered
with the request id (a problem on the JSON API) and logged once, with the request's fields."""

from __future__ import annotations

import asyncio
import logging

import httpx

from gateway.app import create_app
from gateway.config import Settings
from gateway.observability.logs import RequestFields


def get(app: object, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return await client.get(path)

    return asyncio.run(go())


def test_a_json_api_failure_is_a_problem_naming_the_request(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestFields())
    gateway = create_app(Settings(data_dir=tmp_path))

    @gateway.api.get("/_artifacts/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    answer = get(gateway, "/_artifacts/broken")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    rid = answer.headers["x-request-id"]
    assert answer.json()["request_id"] == rid
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1  # logged here, not again by the server
    assert errors[0].__dict__["request_id"] == rid
    (access,) = [r for r in caplog.records if r.name == "gateway.request" and r.levelno == 20]
    assert access.__dict__["operation"] == "broken"
    assert access.__dict__["status"] == 500


def test_an_s3_failure_outside_the_s3_layers_still_names_the_request(tmp_path, caplog):
    gateway = create_app(Settings(data_dir=tmp_path))  # not started: no S3 app yet
    answer = get(gateway, "/bucket/key")
    assert answer.status_code == 500
    assert len(answer.headers["x-amz-request-id"]) == 16
    assert "x-request-id" not in answer.headers
    oci = get(gateway, "/v2/")
    assert oci.status_code == 500
    assert len(oci.headers["x-request-id"]) == 16
