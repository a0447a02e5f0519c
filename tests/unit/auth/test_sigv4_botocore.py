"""botocore as an oracle: whatever it signs must verify, and any one-byte change must not.

Requests are built the way botocore's S3 serializer builds them (keys percent-encoded with
``/`` and ``~`` kept, query pairs encoded with ``-_.~`` kept), signed with ``S3SigV4Auth``
or ``S3SigV4QueryAuth``, and handed to ``verify`` as a server would receive them.
"""

from __future__ import annotations

import re
import string
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from botocore.utils import percent_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.auth.sigv4 import SignedRequest, is_sigv4
from tests.unit.auth.sigv4_support import botocore_signed, check, refused, with_header

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ODD = list(" +!'*%~=&/.-_()$@,;:?#[]\"<>^`{|}\\")
key_chars = st.one_of(
    st.sampled_from(ODD),
    st.sampled_from(string.ascii_letters + string.digits),
    st.characters(codec="utf-8", exclude_categories=["Cs"]),
)
object_keys = st.text(key_chars, min_size=1, max_size=24)
buckets = st.from_regex(r"[a-z0-9][a-z0-9.-]{1,10}[a-z0-9]", fullmatch=True)
query_keys = st.one_of(
    st.sampled_from(
        ["prefix", "max-keys", "delimiter", "uploadId", "partNumber", "acl", "tagging"]
    ),
    st.text(key_chars, min_size=1, max_size=8),
).filter(lambda k: not k.lower().startswith("x-amz-"))
query_values = st.one_of(st.none(), st.text(key_chars, max_size=12))
header_names = st.one_of(
    st.sampled_from(
        [
            "x-amz-meta-a",
            "X-Amz-Meta-Color",
            "x-amz-meta-odd_name",
            "x-amz-storage-class",
            "x-amz-acl",
            "Content-Type",
            "Cache-Control",
            "If-Match",
            "Range",
            "X-Custom",
        ]
    ),
    st.from_regex(r"x-amz-meta-[a-z0-9-]{1,10}", fullmatch=True),
)
header_values = st.text(
    st.sampled_from(string.ascii_letters + string.digits + string.punctuation + "   \t"),
    max_size=20,
)
times = st.builds(
    lambda d, s: datetime.combine(d, time(), tzinfo=UTC) + timedelta(seconds=s),
    st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 1, 1)),
    st.integers(60, 86_400 - 60),  # room for a one-second change inside the day
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, object]:
    bucket = draw(buckets)
    key = percent_encode(draw(object_keys), safe="/~")
    if draw(st.booleans()):
        host = draw(st.sampled_from(["localhost:9000", "127.0.0.1:8333", "s3.test"]))
        path = f"/{bucket}/{key}"
    else:
        host, path = f"{bucket}.s3.test", f"/{key}"
    pairs = draw(st.lists(st.tuples(query_keys, query_values), max_size=5))
    query = "&".join(
        percent_encode(k, safe="-_.~") + ("" if v is None else "=" + percent_encode(v, safe="-_.~"))
        for k, v in pairs
    )
    scheme = draw(st.sampled_from(["http", "https"]))
    return {
        "method": draw(st.sampled_from(["GET", "PUT", "HEAD", "DELETE", "POST"])),
        "url": f"{scheme}://{host}{path}" + (f"?{query}" if query else ""),
        "headers": draw(st.lists(st.tuples(header_names, header_values), max_size=5)),
        "region": draw(st.sampled_from(["us-east-1", "eu-central-1", "auto", "garage"])),
        "when": draw(times),
        "body": draw(st.binary(max_size=64)),
    }


_LOOSE_IN_PATH = {f"%{ord(c):02X}": c for c in "!'()*$@:,;=&+"}


def _loosely_encoded(req: SignedRequest) -> SignedRequest:
    """The same request as a laxer client or proxy would send it.

    Sub-delimiters left raw in the path, escapes in lower-case hex, spaces in the query as
    ``+``: all decode to the same bytes, so the canonical form, and the signature, must hold.
    """
    path = re.sub("%[0-9A-F]{2}", lambda m: _LOOSE_IN_PATH.get(m[0], m[0].lower()), req.raw_path)
    query = re.sub(
        "%[0-9A-F]{2}", lambda m: "+" if m[0] == "%20" else m[0].lower(), req.query_string
    )
    return replace(req, raw_path=path, query_string=query)


def _other(ch: str) -> str:
    """A character that is neither ``ch`` nor a hex digit nor whitespace."""
    return "x" if ch != "x" else "y"


def _replace_at(text: str, index: int, *, new: str | None = None) -> str:
    index %= len(text)
    return text[:index] + (new if new is not None else _other(text[index])) + text[index + 1 :]


def _flip_hex(sig: str, index: int) -> str:
    index %= len(sig)
    return sig[:index] + ("0" if sig[index] != "0" else "1") + sig[index + 1 :]


def _signed_value_changes(req: SignedRequest, signed: tuple[str, ...], index: int):
    """One character changed in each signed header's value (dates and hashes aside)."""
    skip = {"authorization", "x-amz-date", "x-amz-content-sha256"}
    for i, (name, value) in enumerate(req.headers):
        if name.lower() in skip or name.lower() not in signed:
            continue
        headers = list(req.headers)
        headers[i] = (name, _replace_at(value, index) if value.strip() else value + "z")
        yield name, replace(req, headers=tuple(headers))


def _query_change(query: str, index: int) -> str:
    """One character changed in a non-auth query value, or a parameter added if none."""
    pairs = query.split("&") if query else []
    candidates = [i for i, p in enumerate(pairs) if not p.startswith("X-Amz-")]
    if not candidates:
        return "&".join([*pairs, "z=1"])
    i = candidates[index % len(candidates)]
    key, _, value = pairs[i].partition("=")
    pairs[i] = f"{key}={_replace_at(value, index)}" if value else f"{key}=z"
    return "&".join(pairs)


@SETTINGS
@given(spec=requests(), skew=st.integers(-600, 600), index=st.integers(0, 10_000))
def test_header_auth_signed_by_botocore_verifies_and_resists_tampering(spec, skew, index):
    when = spec["when"]
    body = spec["body"] if spec["method"] in {"PUT", "POST"} else b""
    req = botocore_signed(
        spec["method"], spec["url"], spec["headers"], when=when, region=spec["region"], body=body
    )
    now = when + timedelta(seconds=skew)
    assert is_sigv4(req)
    cred = check(req, now)
    assert cred.amz_date == when
    assert cred.region == spec["region"]
    assert not cred.presigned
    assert check(_loosely_encoded(req), now) == cred

    auth = next(v for n, v in req.headers if n == "Authorization")
    head, sig = auth.rsplit("Signature=", 1)
    refused(
        with_header(req, "Authorization", f"{head}Signature={_flip_hex(sig, index)}"),
        now,
        "SignatureDoesNotMatch",
    )
    refused(replace(req, raw_path=_replace_at(req.raw_path, index)), now, "SignatureDoesNotMatch")
    refused(
        replace(req, query_string=_query_change(req.query_string, index)),
        now,
        "SignatureDoesNotMatch",
    )
    for name, changed in _signed_value_changes(req, cred.signed_headers, index):
        assert refused(changed, now, "SignatureDoesNotMatch"), name
    later = (when + timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
    refused(with_header(req, "X-Amz-Date", later), now, "SignatureDoesNotMatch")
    refused(req, when + timedelta(seconds=901), "RequestTimeTooSkewed")
    refused(req, when - timedelta(seconds=901), "RequestTimeTooSkewed")
    refused(with_header(req, "x-amz-meta-unsigned_1", "1"), now, "AccessDenied")
    refused(with_header(req, "X-Amz-Content-SHA256", None), now, "InvalidRequest")


@SETTINGS
@given(
    spec=requests(),
    expires=st.integers(1, 604_800),
    age=st.floats(0, 1),
    index=st.integers(0, 10_000),
)
def test_presigned_url_signed_by_botocore_verifies_and_resists_tampering(spec, expires, age, index):
    when = spec["when"]
    req = botocore_signed(
        spec["method"],
        spec["url"],
        spec["headers"],
        when=when,
        region=spec["region"],
        presign_expires=expires,
    )
    now = when + timedelta(seconds=int(expires * age))
    assert is_sigv4(req)
    cred = check(req, now)
    assert cred.presigned
    assert cred.payload_hash == "UNSIGNED-PAYLOAD"
    assert cred.amz_date == when
    assert check(_loosely_encoded(req), now) == cred

    head, sig = req.query_string.rsplit("X-Amz-Signature=", 1)
    refused(
        replace(req, query_string=f"{head}X-Amz-Signature={_flip_hex(sig, index)}"),
        now,
        "SignatureDoesNotMatch",
    )
    refused(replace(req, raw_path=_replace_at(req.raw_path, index)), now, "SignatureDoesNotMatch")
    refused(
        replace(req, query_string=_query_change(req.query_string, index)),
        now,
        "SignatureDoesNotMatch",
    )
    for name, changed in _signed_value_changes(req, cred.signed_headers, index):
        assert refused(changed, now, "SignatureDoesNotMatch"), name
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    later = (when + timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
    moved = req.query_string.replace(f"X-Amz-Date={stamp}", f"X-Amz-Date={later}")
    assert moved != req.query_string
    refused(replace(req, query_string=moved), now, "SignatureDoesNotMatch")
    other = expires + 1 if expires < 604_800 else expires - 1
    changed = req.query_string.replace(f"X-Amz-Expires={expires}&", f"X-Amz-Expires={other}&")
    assert changed != req.query_string
    still_valid = now <= when + timedelta(seconds=other)
    code = "SignatureDoesNotMatch" if still_valid else "AccessDenied"
    refused(replace(req, query_string=changed), now, code)
    refused(req, when + timedelta(seconds=expires + 1), "AccessDenied")
    refused(req, when - timedelta(seconds=901), "RequestTimeTooSkewed")
    refused(with_header(req, "x-amz-meta-unsigned_1", "1"), now, "AccessDenied")
