"""User metadata values: RFC 2047 in and out, as S3 stores and returns them."""

from __future__ import annotations

import email.header

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.s3.mailsafe import decode, encode

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


@pytest.mark.parametrize(
    ("stored", "sent"),
    [
        ("plain value", "plain value"),
        ("\x04mymeta", "=?UTF-8?Q?=04mymeta?="),  # ceph s3-tests' expectation of AWS
        ("my\x04meta", "=?UTF-8?Q?my=04meta?="),
        ("mymeta\x04", "=?UTF-8?Q?mymeta=04?="),
        ("a b\tc", "=?UTF-8?Q?a_b=09c?="),
        ("é", "=?UTF-8?B?w6k=?="),
        ("日本語", "=?UTF-8?B?5pel5pys6Kqe?="),
    ],
)
def test_what_goes_out(stored: str, sent: str) -> None:
    assert encode(stored) == sent


@given(texts)
def test_every_value_goes_out_printable_and_comes_back(value: str) -> None:
    sent = encode(value)
    assert all(0x20 <= ord(c) < 0x7F for c in sent)
    assert decode(sent) == value
    # what any mail library reads from it is the value too
    if sent != value:
        parts = email.header.decode_header(sent)
        assert (
            b"".join(p if isinstance(p, bytes) else p.encode() for p, _ in parts).decode() == value
        )


@pytest.mark.parametrize(
    ("wire", "stored"),
    [
        ("=?UTF-8?B?w6k=?=", "é"),
        ("=?utf-8?q?caf=C3=A9_au_lait?=", "café au lait"),
        ("=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "éé"),  # whitespace between words goes
        ("x =?ISO-8859-1?Q?=E9?= y", "x é y"),
        ("caf\xc3\xa9", "café"),  # raw UTF-8 bytes, as the server reads them (latin-1)
        ("\xe9", "é"),  # a Latin-1 byte that is not UTF-8 stays Latin-1
        ("=?UTF-8?B?not base64!?=", "=?UTF-8?B?not base64!?="),
        ("=?x-unknown?Q?abc?=", "=?x-unknown?Q?abc?="),
        ("no words = here?", "no words = here?"),
    ],
)
def test_what_comes_in(wire: str, stored: str) -> None:
    assert decode(wire) == stored
