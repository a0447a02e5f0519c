"""Who may read the audit log back (gateway/api/audit.py: reads_audit)."""

from __future__ import annotations

import pytest

from gateway.api.audit import reads_audit
from gateway.domain.values import Principal

ADMIN = frozenset({"artifact-admin"})


@pytest.mark.parametrize(
    ("who", "rule"),
    [
        pytest.param(Principal("root", "root"), "root", id="root"),
        pytest.param(Principal("carol", "bearer", roles=ADMIN), "role:artifact-admin", id="admin"),
        pytest.param(
            Principal("alice", "bearer", roles=frozenset({"artifact-reader"})), None, id="reader"
        ),
        pytest.param(
            Principal("dave", "bearer", groups=frozenset({"/buckets/a/admins"})),
            None,
            id="bucket-admin",
        ),
        pytest.param(
            Principal("carol", "access-key", access_key="AK", roles=ADMIN), None, id="admin-key"
        ),
        pytest.param(
            Principal("carol", "bearer", roles=ADMIN, policies=("{}",)), None, id="narrowed"
        ),
        pytest.param(Principal("anonymous", "anonymous"), None, id="anonymous"),
    ],
)
def test_only_root_and_unnarrowed_admins_read_it(who: Principal, rule: str | None) -> None:
    assert reads_audit(who) == rule
