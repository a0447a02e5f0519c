"""The catalog shows only what the caller may list, and pages what is left."""

from __future__ import annotations

import json

import pytest

from gateway.oci.catalog import page, visible
from gateway.oci.errors import OciError


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_only_listable_namespaces_are_shown() -> None:
    asked: list[tuple[str, str]] = []

    async def allowed(action: str, bucket: str) -> bool:
        asked.append((action, bucket))
        return bucket in {"team", "photos"}

    shown = await visible(
        ["team/app", "team/db", "other/x", "s3/photos/o/1", "s3/secret/o/2"], "s3", allowed
    )
    assert shown == ["team/app", "team/db", "s3/photos/o/1"]
    assert sorted(set(asked)) == sorted(asked)  # one decision per namespace
    assert ("s3:ListBucket", "photos") in asked


def test_pages() -> None:
    names = ["c", "a", "b", "d"]
    body, link = page(names, "2", None)
    assert json.loads(body) == {"repositories": ["a", "b"]}
    assert link == '</v2/_catalog?n=2&last=b>; rel="next"'
    body, link = page(names, "2", "b")
    assert json.loads(body) == {"repositories": ["c", "d"]}
    assert link is None
    assert json.loads(page(names, None, None)[0]) == {"repositories": ["a", "b", "c", "d"]}
    assert json.loads(page(names, "0", None)[0]) == {"repositories": []}


@pytest.mark.parametrize("n", ["x", "-1"])
def test_a_bad_page_size_is_an_oci_error(n: str) -> None:
    with pytest.raises(OciError) as raised:
        page(["a"], n, None)
    assert raised.value.status == 400
