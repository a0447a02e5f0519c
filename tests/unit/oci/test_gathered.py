"""The proxy reads a small manifest whole before forwarding it (so it may carry the gateway's
Zot session cookie) and streams a larger one on, byte for byte."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from hypothesis import given
from hypothesis import strategies as st

from gateway.oci.proxy import _gathered


async def pieces(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _collect(chunks: list[bytes], most: int) -> tuple[bool, bytes]:
    got = await _gathered(pieces(chunks), most)
    if isinstance(got, bytes):
        return True, got
    assert got is not None
    return False, b"".join([piece async for piece in got])


@given(chunks=st.lists(st.binary(max_size=40), max_size=8), most=st.integers(0, 200))
def test_whole_within_the_limit_and_the_same_bytes_either_way(
    chunks: list[bytes], most: int
) -> None:
    whole, data = asyncio.run(_collect(chunks, most))
    assert data == b"".join(chunks)
    assert whole == (len(data) <= most)


def test_no_body_stays_none() -> None:
    assert asyncio.run(_gathered(None, 10)) is None
