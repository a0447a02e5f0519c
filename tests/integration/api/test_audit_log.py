"""/_artifacts/audit against the session gateway (its audit file in data_dir): root reads
the latest lines back, filtered; its own read is an audit line too. Keycloak users (the
admin role reads, a reader is refused) are covered by tests/integration/console/."""

from __future__ import annotations

import base64
import uuid

import httpx

from tests.conftest import ACCESS_KEY, SECRET_KEY
from tests.fixtures.servers import RunningGateway

BASIC = {
    "Authorization": "Basic " + base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode()
}


def test_root_reads_the_latest_lines_filtered(gateway: RunningGateway, s3) -> None:  # type: ignore[no-untyped-def]
    bucket = f"audit-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.delete_bucket(Bucket=bucket)
    answer = httpx.get(
        f"{gateway.url}/_artifacts/audit",
        params={"action": "bucket", "decision": "allow", "limit": 2},
        headers=BASIC,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    records = answer.json()["records"]
    assert [(r["operation"], r["resource"]) for r in records] == [
        ("DeleteBucket", f"/{bucket}"),
        ("CreateBucket", f"/{bucket}"),
    ]
    again = httpx.get(
        f"{gateway.url}/_artifacts/audit",
        params={"action": "GetAuditLog", "limit": 1},
        headers=BASIC,
        timeout=30,
    )
    (read,) = again.json()["records"]
    assert (read["principal"], read["decision"], read["rule"]) == ("root", "allow", "root")


def test_anonymous_is_refused(gateway: RunningGateway) -> None:
    answer = httpx.get(f"{gateway.url}/_artifacts/audit", timeout=30)
    assert answer.status_code in (401, 403)
    assert answer.headers["content-type"] == "application/problem+json"
