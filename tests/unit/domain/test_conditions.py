"""Conditional reads and writes (RFC 9110 §13.2.2 as S3 applies it) and byte ranges."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.conditions import (
    COPY_SOURCE,
    RangeRequest,
    ReadConditions,
    WriteConditions,
    check_copy_source,
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


@pytest.mark.parametrize(
    ("stored", "carried"),
    [
        pytest.param({}, {}, id="none"),
        pytest.param(
            {"Cache-Control": "max-age=60", "Expires": "Thu, 01 Jan 2099 00:00:00 GMT"},
            {"Cache-Control": "max-age=60", "Expires": "Thu, 01 Jan 2099 00:00:00 GMT"},
            id="both",
        ),
        pytest.param(
            {"Content-Type": "text/plain", "Content-Language": "en", "Expires": "0"},
            {"Expires": "0"},
            id="only-the-caching-ones",
        ),
    ],
)
def test_a_304_carries_the_stored_cache_control_and_expires(
    stored: dict[str, str], carried: dict[str, str]
) -> None:
    """RFC 9110 §15.4.5: a 304 carries the Cache-Control and Expires a 200 would, and no
    other representation metadata."""
    with pytest.raises(NotModified) as raised:
        check_read(ReadConditions(if_none_match=ETAG), replace(RECORD, headers=stored))
    assert raised.value.caching == carried


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


# -- precedence as a property: an oracle written from RFC 9110 §13.2.2 ----------------------
#
# The oracle reads each header as the RFC defines it, independently of conditions.py:
# If-Match compares strongly (§13.1.1: a weak tag never matches), If-None-Match weakly
# (§13.1.2), dates at one-second resolution (an HTTP-date has no fraction, §5.6.7). The
# GetObject page's two exceptions (If-Match true + If-Unmodified-Since false -> 200;
# If-None-Match false + If-Modified-Since true -> 304) follow from the order. For a copy's
# source the CopyObject page answers 412 where a GET answers 304.

HEX = "0123456789abcdef"


@st.composite
def records(draw: st.DrawFn) -> ObjectRecord:
    tag = draw(st.text(HEX, min_size=32, max_size=32))
    if draw(st.booleans()):
        tag += f"-{draw(st.integers(1, 10_000))}"  # a multipart ETag
    moment = datetime(2024, 5, 1, tzinfo=UTC) + timedelta(
        seconds=draw(st.integers(0, 10_000)), microseconds=draw(st.integers(0, 999_999))
    )
    return ObjectRecord(
        bucket="b",
        key="k",
        manifest_digest="sha256:0",
        size=1,
        etag=f'"{tag}"',
        last_modified=moment,
        layers=(Layer(digest="sha256:1", size=1),),
    )


def entity_tag_lists(record: ObjectRecord) -> st.SearchStrategy[tuple[list[tuple[str, bool]], str]]:
    """(entity-tags as (opaque, weak), the header text): the object's own tag or others,
    quoted or not, weak or strong, in lists with any spacing; or ``*``."""
    own = record.etag.strip('"')
    tag = st.tuples(
        st.one_of(st.just(own), st.text(HEX, min_size=1, max_size=34)),
        st.booleans(),
        st.booleans(),
    )

    def render(
        tags: list[tuple[str, bool, bool]], separator: str
    ) -> tuple[list[tuple[str, bool]], str]:
        texts = [
            ("W/" if weak else "") + (f'"{t}"' if quoted or weak else t) for t, weak, quoted in tags
        ]
        return [(t, weak) for t, weak, _ in tags], separator.join(texts)

    listed = st.builds(
        render, st.lists(tag, min_size=1, max_size=4), st.sampled_from([",", ", ", " , "])
    )
    return st.one_of(st.just(([("*", False)], "*")), listed)


def oracle(record: ObjectRecord, headers: dict[str, object], *, copy_source: bool) -> str:
    """The status RFC 9110 §13.2.2 gives a GET of ``record``, and the header that decided."""
    own = record.etag.strip('"')
    seconds = record.last_modified.replace(microsecond=0)
    not_modified = "412" if copy_source else "304"

    def any_match(tags: list[tuple[str, bool]], *, strong: bool) -> bool:
        return any(t == "*" or (t == own and not (strong and weak)) for t, weak in tags)

    if "If-Match" in headers:  # step 1
        if not any_match(headers["If-Match"], strong=True):  # type: ignore[arg-type]
            return "412 If-Match"
    elif "If-Unmodified-Since" in headers:  # noqa: SIM102 - step 2, as the RFC writes it
        if seconds > headers["If-Unmodified-Since"]:  # type: ignore[operator]
            return "412 If-Unmodified-Since"
    if "If-None-Match" in headers:  # step 3
        if any_match(headers["If-None-Match"], strong=False):  # type: ignore[arg-type]
            return f"{not_modified} If-None-Match"
    elif "If-Modified-Since" in headers:  # noqa: SIM102 - step 4, as the RFC writes it
        if seconds <= headers["If-Modified-Since"]:  # type: ignore[operator]
            return f"{not_modified} If-Modified-Since"
    return "200"


@st.composite
def requests(draw: st.DrawFn) -> tuple[ObjectRecord, dict[str, object], ReadConditions]:
    record = draw(records())
    seconds = record.last_modified.replace(microsecond=0)
    near = st.integers(-3, 3).map(lambda d: seconds + timedelta(seconds=d))
    headers: dict[str, object] = {}
    texts: dict[str, object] = {}
    for name in ("If-Match", "If-None-Match"):
        if draw(st.booleans()):
            headers[name], texts[name] = draw(entity_tag_lists(record))
    for name in ("If-Modified-Since", "If-Unmodified-Since"):
        if draw(st.booleans()):
            headers[name] = texts[name] = draw(near)
    conditions = ReadConditions(
        if_match=texts.get("If-Match"),  # type: ignore[arg-type]
        if_none_match=texts.get("If-None-Match"),  # type: ignore[arg-type]
        if_modified_since=texts.get("If-Modified-Since"),  # type: ignore[arg-type]
        if_unmodified_since=texts.get("If-Unmodified-Since"),  # type: ignore[arg-type]
    )
    return record, headers, conditions


def decided(check: object, conditions: ReadConditions, record: ObjectRecord) -> str:
    try:
        check(conditions, record)  # type: ignore[operator]
    except PreconditionFailed as exc:
        return f"412 {exc.condition.removeprefix(COPY_SOURCE)}"
    except NotModified as exc:
        # A 304 names the version the client has.
        if (exc.etag, exc.last_modified) != (record.etag, record.last_modified):
            return "304 without its validators"
        failed = "If-None-Match" if conditions.if_none_match is not None else "If-Modified-Since"
        return f"304 {failed}"
    return "200"


@settings(max_examples=500, deadline=None)
@given(request=requests())
def test_get_and_head_follow_rfc9110(
    request: tuple[ObjectRecord, dict[str, object], ReadConditions],
) -> None:
    record, headers, conditions = request
    assert decided(check_read, conditions, record) == oracle(record, headers, copy_source=False)


@settings(max_examples=500, deadline=None)
@given(request=requests())
def test_copy_sources_answer_412_where_a_get_answers_304(
    request: tuple[ObjectRecord, dict[str, object], ReadConditions],
) -> None:
    record, headers, conditions = request
    expected = oracle(record, headers, copy_source=True)
    assert decided(check_copy_source, conditions, record) == expected


def test_copy_source_conditions_are_named_with_their_prefix() -> None:
    with pytest.raises(PreconditionFailed) as caught:
        check_copy_source(ReadConditions(if_none_match=ETAG), RECORD)
    assert caught.value.condition == "x-amz-copy-source-If-None-Match"


@pytest.mark.parametrize(
    ("header", "matches"),
    [('W/"0123abcd"', False), ('W/"x", "0123abcd"', True), ("W/*", False)],
)
def test_if_match_compares_strongly(header: str, matches: bool) -> None:
    assert etag_matches(header, ETAG, weak=False) is matches
