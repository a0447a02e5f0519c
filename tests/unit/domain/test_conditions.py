"""Conditional reads and writes (RFC 9110 §13.2.2 as S3 applies it) and byte ranges."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.conditions import (
    RangeRequest,
    ReadConditions,
    WriteConditions,
    check_read,
    check_write,
    etag_matches,
)
from gateway.domain.errors import InvalidRange, NoSuchKey, NotModified, PreconditionFailed
from gateway.domain.values import Layer, ObjectRecord

ETAG = '"0123abcd"'
MODIFIED = datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)  # HTTP dates have no fraction
SAME_SECOND = MODIFIED.replace(microsecond=0)
EARLIER = SAME_SECOND - timedelta(seconds=1)
LATER = SAME_SECOND + timedelta(hours=1)
RECORD = ObjectRecord(
    bucket="b",
    key="k",
    manifest_digest="sha256:0",
    size=10,
    etag=ETAG,
    last_modified=MODIFIED,
    layers=(Layer(digest="sha256:1", size=10),),
)

# Each header: absent, a value that makes it true, a value that makes it false.
IF_MATCH = {"absent": None, "true": ETAG, "false": '"other"'}
IF_UNMODIFIED_SINCE = {"absent": None, "true": SAME_SECOND, "false": EARLIER}
IF_NONE_MATCH = {"absent": None, "true": '"other"', "false": ETAG}
IF_MODIFIED_SINCE = {"absent": None, "true": EARLIER, "false": SAME_SECOND}


def outcome(conditions: ReadConditions) -> str:
    try:
        check_read(conditions, RECORD)
    except PreconditionFailed:
        return "412"
    except NotModified:
        return "304"
    return "200"


def rfc9110(im: str, ius: str, inm: str, ims: str) -> str:
    """RFC 9110 §13.2.2 for GET/HEAD: the steps in order, each only if the previous allows."""
    if im != "absent":
        if im == "false":
            return "412"
    elif ius == "false":
        return "412"
    if inm != "absent":
        if inm == "false":
            return "304"
    elif ims == "false":
        return "304"
    return "200"


STATES = ("absent", "true", "false")


@pytest.mark.parametrize(
    ("im", "ius", "inm", "ims"),
    list(itertools.product(STATES, repeat=4)),
    ids=lambda state: state,
)
def test_read_truth_table(im: str, ius: str, inm: str, ims: str) -> None:
    conditions = ReadConditions(
        if_match=IF_MATCH[im],
        if_unmodified_since=IF_UNMODIFIED_SINCE[ius],
        if_none_match=IF_NONE_MATCH[inm],
        if_modified_since=IF_MODIFIED_SINCE[ims],
    )
    assert outcome(conditions) == rfc9110(im, ius, inm, ims)


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        # The two cases the GetObject documentation spells out.
        pytest.param(
            ReadConditions(if_match=ETAG, if_unmodified_since=EARLIER),
            "200",
            id="im-true-ius-false",
        ),
        pytest.param(
            ReadConditions(if_none_match=ETAG, if_modified_since=EARLIER),
            "304",
            id="inm-false-ims-true",
        ),
        pytest.param(
            ReadConditions(if_none_match='"other"', if_modified_since=SAME_SECOND),
            "200",
            id="inm-true-ims-false",
        ),
        pytest.param(
            ReadConditions(if_match='"other"', if_none_match=ETAG), "412", id="412-before-304"
        ),
        pytest.param(ReadConditions(if_modified_since=SAME_SECOND), "304", id="ims-same-second"),
        pytest.param(ReadConditions(if_modified_since=LATER), "304", id="ims-later"),
        pytest.param(ReadConditions(if_unmodified_since=SAME_SECOND), "200", id="ius-same-second"),
        pytest.param(ReadConditions(if_unmodified_since=EARLIER), "412", id="ius-earlier"),
        pytest.param(ReadConditions(if_match="*"), "200", id="im-star"),
        pytest.param(ReadConditions(if_match='"x", "0123abcd"'), "200", id="im-list"),
        pytest.param(ReadConditions(if_match="0123abcd"), "200", id="im-unquoted"),
        pytest.param(ReadConditions(if_none_match="*"), "304", id="inm-star"),
        pytest.param(ReadConditions(if_none_match='W/"0123abcd"'), "304", id="inm-weak"),
        pytest.param(ReadConditions(), "200", id="none"),
    ],
)
def test_read_cases(conditions: ReadConditions, expected: str) -> None:
    assert outcome(conditions) == expected


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ('"0123abcd"', True),
        ("*", True),
        ('"a" , "0123abcd"', True),
        ('"a","0123abcd"', True),  # a list is split at commas, spaces or not
        ('"a" "0123abcd"', False),  # ... and only at commas
        (' "0123abcd" ', True),
        ('"0123abc"', False),
        ('"0123abcde"', False),
        ("", False),
        (",", False),
    ],
)
def test_etag_matches(header: str, matches: bool) -> None:
    assert etag_matches(header, ETAG) is matches


# -- writes ----------------------------------------------------------------------------------


def write_outcome(conditions: WriteConditions, current: ObjectRecord | None) -> str:
    try:
        check_write(conditions, current)
    except PreconditionFailed:
        return "412"
    except NoSuchKey:
        return "404"
    return "200"


@pytest.mark.parametrize(
    ("conditions", "exists", "expected"),
    [
        pytest.param(WriteConditions(), True, "200", id="none-existing"),
        pytest.param(WriteConditions(), False, "200", id="none-missing"),
        pytest.param(WriteConditions(if_none_match="*"), True, "412", id="inm-star-existing"),
        pytest.param(WriteConditions(if_none_match="*"), False, "200", id="inm-star-missing"),
        pytest.param(WriteConditions(if_match=ETAG), True, "200", id="im-match"),
        pytest.param(WriteConditions(if_match='"other"'), True, "412", id="im-mismatch"),
        pytest.param(WriteConditions(if_match=ETAG), False, "404", id="im-missing"),
        pytest.param(WriteConditions(if_match="*"), False, "404", id="im-star-missing"),
        pytest.param(
            WriteConditions(if_match=ETAG, if_none_match="*"), True, "412", id="both-existing"
        ),
    ],
)
def test_write_conditions(conditions: WriteConditions, exists: bool, expected: str) -> None:
    assert write_outcome(conditions, RECORD if exists else None) == expected


# -- ranges ----------------------------------------------------------------------------------


def selected(first: int | None, last: int | None, size: int) -> range:
    """The byte positions a range selects (RFC 9110 §14.1.2), independently of ``resolve``."""
    if first is None:
        assert last is not None
        return range(max(0, size - last), size)
    return range(first, size if last is None else min(last + 1, size))


@st.composite
def range_requests(draw: st.DrawFn) -> RangeRequest:
    kind = draw(st.sampled_from(["closed", "open", "suffix"]))
    if kind == "suffix":
        return RangeRequest(first=None, last=draw(st.integers(0, 80)))
    first = draw(st.integers(0, 80))
    last = None if kind == "open" else draw(st.integers(first, 120))
    return RangeRequest(first=first, last=last)


@settings(max_examples=300, deadline=None)
@given(request=range_requests(), size=st.integers(0, 60))
def test_range_resolves_like_the_model(request: RangeRequest, size: int) -> None:
    positions = selected(request.first, request.last, size)
    if not positions:
        with pytest.raises(InvalidRange) as caught:
            request.resolve(size)
        assert caught.value.size == size
    else:
        assert request.resolve(size) == (positions[0], positions[-1])


@pytest.mark.parametrize(
    ("first", "last", "size", "expected"),
    [
        (0, 0, 10, (0, 0)),
        (0, 9, 10, (0, 9)),
        (2, 100, 10, (2, 9)),  # beyond the end: clipped
        (5, None, 10, (5, 9)),
        (None, 3, 10, (7, 9)),
        (None, 100, 10, (0, 9)),  # suffix longer than the object: all of it
        (9, None, 10, (9, 9)),
    ],
)
def test_satisfiable_ranges(
    first: int | None, last: int | None, size: int, expected: tuple[int, int]
) -> None:
    assert RangeRequest(first=first, last=last).resolve(size) == expected


@pytest.mark.parametrize(
    ("first", "last", "size"),
    [
        (10, None, 10),  # starts at the end
        (10, 20, 10),
        (0, 0, 0),  # nothing to select in an empty object
        (0, None, 0),
        (None, 5, 0),
        (None, 0, 10),  # bytes=-0
    ],
)
def test_unsatisfiable_ranges(first: int | None, last: int | None, size: int) -> None:
    with pytest.raises(InvalidRange) as caught:
        RangeRequest(first=first, last=last).resolve(size)
    assert caught.value.size == size
