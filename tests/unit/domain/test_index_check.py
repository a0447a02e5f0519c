"""``reindex --check`` (gateway/domain/index_check.py): how the index differs from what
``reindex`` would write, without writing. Over the in-memory ports of ``fakes.py`` (objects,
referrers, multipart uploads written by the domain's own functions), then rows removed,
added or changed behind the domain's back; ``compare`` alone over generated contents; the
command line's output and exit codes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

import gateway.__main__ as cli
from gateway.domain import index_check, multipart, objects
from gateway.domain.buckets import create_bucket
from gateway.domain.index_check import Difference, compare
from gateway.domain.objects import NewObject
from gateway.domain.reindex import rebuild
from gateway.domain.store import Store
from gateway.domain.supply import referrer_mapping as types
from gateway.domain.supply import referrers
from gateway.domain.supply.wing import SupplyChainWing
from gateway.domain.values import (
    BucketRecord,
    IndexContents,
    Layer,
    ObjectRecord,
    PartRecord,
    ReferrerRecord,
    UploadRecord,
)
from gateway.index import IndexNotReady
from tests.fixtures.supply_chain import dump, sigstore_bundle
from tests.unit.domain.fakes import FakeIndex, FakeRegistry, Faults
from tests.unit.registry.test_client import chunks

pytestmark = pytest.mark.anyio
BUCKET = "checked"
BODY = b"the object's bytes\n"
SIGNATURE = dump(sigstore_bundle(BODY))
# What reading may call: the check must never reach a port method that writes.
READS = {
    "registry.catalog",
    "registry.tags",
    "registry.get_manifest",
    "registry.referrers",
    "index.contents",
}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def store_over(registry: FakeRegistry, index: FakeIndex) -> Store:
    return Store(registry=cast(Any, registry), index=cast(Any, index), supply=SupplyChainWing())


async def world() -> tuple[Store, FakeRegistry, FakeIndex, str]:
    """A bucket with two objects (one signed) and a live upload with a part; its upload id."""
    faults = Faults()
    registry, index = FakeRegistry(faults), FakeIndex(faults)
    store = store_over(registry, index)
    await create_bucket(store, BUCKET)
    for key in ("a", "signed"):
        await objects.put_object(
            store, BUCKET, key, chunks(BODY), len(BODY), NewObject({}, {"k": key})
        )
    await referrers.attach(
        store, BUCKET, "signed", types.SIGNATURE, types.SIGSTORE_BUNDLE, SIGNATURE
    )
    upload = await multipart.create_multipart_upload(store, BUCKET, "big", NewObject({}, {}))
    await multipart.upload_part(
        store, BUCKET, "big", upload.upload_id, 1, chunks(BODY), len(BODY), NewObject({}, {})
    )
    return store, registry, index, upload.upload_id


async def differences(store: Store) -> list[Difference]:
    found, _ = await index_check.check(store)
    return found


async def test_an_index_the_domain_wrote_has_no_difference_and_the_check_only_reads() -> None:
    store, registry, index, _ = await world()
    before = (dict(registry.manifests), dict(registry.tagged), index.clone().objects)
    registry.faults.calls = []
    found, report = await index_check.check(store)
    assert found == []
    assert (report.buckets, report.objects, report.referrers, report.uploads, report.parts) == (
        1,
        2,
        1,
        1,
        1,
    )
    assert set(registry.faults.calls) <= READS
    assert (registry.manifests, registry.tagged, index.objects) == before


async def test_a_row_deleted_behind_the_gateways_back_is_only_in_the_registry() -> None:
    store, _, index, _ = await world()
    gone = index.objects.pop((BUCKET, "a"))
    assert await differences(store) == [
        Difference("objects", f"{BUCKET}/a", None, gone.manifest_digest)
    ]


async def test_a_row_the_registry_has_no_manifest_for_is_only_in_the_index() -> None:
    store, _, index, _ = await world()
    ghost = replace(index.objects[(BUCKET, "a")], key="ghost", manifest_digest="sha256:" + "9" * 64)
    index.objects[(BUCKET, "ghost")] = ghost
    [found] = await differences(store)
    assert found == Difference("objects", f"{BUCKET}/ghost", ghost.manifest_digest, None)
    assert found.describe() == (
        f"objects {BUCKET}/ghost: only in the index ({ghost.manifest_digest}); "
        "a reindex would drop it"
    )


async def test_a_changed_field_is_named() -> None:
    store, _, index, _ = await world()
    row = index.objects[(BUCKET, "a")]
    index.objects[(BUCKET, "a")] = replace(row, tags={"stale": "1"}, size=row.size + 1)
    [found] = await differences(store)
    assert found == Difference(
        "objects", f"{BUCKET}/a", row.manifest_digest, row.manifest_digest, ("size", "tags")
    )
    assert found.describe() == f"objects {BUCKET}/a: size, tags differ ({row.manifest_digest})"


async def test_another_manifest_in_the_row_shows_both() -> None:
    store, _, index, _ = await world()
    row = index.objects[(BUCKET, "a")]
    index.objects[(BUCKET, "a")] = replace(row, manifest_digest="sha256:" + "1" * 64)
    [found] = await differences(store)
    assert found.describe() == (
        f"objects {BUCKET}/a: the index has sha256:{'1' * 64}, the registry {row.manifest_digest}"
    )
    assert "manifest_digest" in found.fields


async def test_buckets_referrers_uploads_and_parts_are_compared() -> None:
    store, _, index, upload_id = await world()
    index.buckets["extra"] = BucketRecord("extra", datetime(2026, 1, 1, tzinfo=UTC))
    [(where, row)] = [(w, r) for w, r in index.referrer_rows.items()]
    del index.referrer_rows[where]
    part = index.parts[upload_id].pop(1)
    upload = index.uploads.pop(upload_id)
    found = await differences(store)
    assert [(d.table, d.row, d.index, d.registry) for d in found] == [
        ("buckets", "extra", "created 2026-01-01T00:00:00+00:00", None),
        ("referrers", f"{BUCKET}/signed {row.digest}", None, f"signature of {row.subject}"),
        ("uploads", upload_id, None, f"{BUCKET}/big"),
        ("parts", f"{upload_id}#1", None, part.manifest_digest),
    ]
    assert upload.key == "big"


async def test_a_completed_uploads_row_wins_over_its_record_as_replace_all_keeps_it() -> None:
    """Complete deletes the record manifest after its commit; until then the registry still
    has it, and a reindex over the kept index keeps the completed row: no difference."""
    store, _, index, upload_id = await world()
    index.uploads[upload_id] = replace(index.uploads[upload_id], completed=True)
    del index.parts[upload_id]
    assert await differences(store) == []


async def test_referrer_rows_of_a_manifest_no_version_has_are_invisible_and_not_reported() -> None:
    store, _, index, _ = await world()
    [row] = index.referrer_rows.values()
    stale = replace(row, digest="sha256:" + "5" * 64, subject="sha256:" + "6" * 64)
    index.referrer_rows[(stale.bucket, stale.key, stale.digest)] = stale
    assert await differences(store) == []


async def test_after_a_reindex_there_is_no_difference() -> None:
    store, registry, index, _ = await world()
    index.objects.clear()
    index.referrer_rows.clear()
    assert len(await differences(store)) == 3
    rebuilt, _ = await rebuild(store)
    await index.replace_all(
        rebuilt.buckets,
        rebuilt.objects,
        rebuilt.referrers,
        rebuilt.uploads,
        rebuilt.parts,
        version_records=rebuilt.versions,
    )
    assert await differences(store) == []
    assert registry.faults.failed is None


# -- compare alone, over generated contents -----------------------------------------------------

MOMENT = datetime(2026, 1, 1, tzinfo=UTC)
DIGESTS = st.sampled_from(["sha256:" + c * 64 for c in "abc"])
KEYS = st.sampled_from(["k", "l", "m/n"])
BUCKETS = st.sampled_from(["b1", "b2"])


def _object(bucket: str, key: str, digest: str, version: str | None, marker: bool) -> ObjectRecord:
    return ObjectRecord(
        bucket, key, digest, 1, '"e"', MOMENT, (Layer(digest, 1),), version_id=version,
        delete_marker=marker,
    )  # fmt: skip


objects_ = st.builds(_object, BUCKETS, KEYS, DIGESTS, st.none(), st.just(False))
versions_ = st.builds(_object, BUCKETS, KEYS, DIGESTS, st.sampled_from(["v1", "v2"]), st.booleans())
referrers_ = st.builds(
    lambda b, k, s, d: ReferrerRecord(b, k, s, d, "sbom", "a/t", "m/t", d, 1, 2, MOMENT),
    BUCKETS,
    KEYS,
    DIGESTS,
    DIGESTS,
)
uploads_ = st.builds(
    lambda i, b, done: UploadRecord(i, b, "k", MOMENT, completed=done),
    st.sampled_from(["u1", "u2", "u3"]),
    BUCKETS,
    st.booleans(),
)
parts_ = st.tuples(
    st.sampled_from(["u1", "u2", "u3"]),
    st.builds(lambda n, d: PartRecord(n, 1, '"e"', d, MOMENT, d), st.integers(1, 2), DIGESTS),
)
contents_ = st.builds(
    IndexContents,
    buckets=st.lists(st.builds(BucketRecord, BUCKETS, st.just(MOMENT)), max_size=2).map(tuple),
    objects=st.lists(objects_, max_size=3).map(tuple),
    versions=st.lists(versions_, max_size=3).map(tuple),
    referrers=st.lists(referrers_, max_size=3).map(tuple),
    uploads=st.lists(uploads_, max_size=3).map(tuple),
    parts=st.lists(parts_, max_size=3).map(tuple),
)


def _unique(contents: IndexContents) -> IndexContents:
    """As tables hold them: one row per primary key (the last one wins), parts only of live
    uploads (Complete drops an upload's parts, a part's row needs its upload's)."""

    def one(rows: tuple[Any, ...], key: Any) -> tuple[Any, ...]:
        return tuple({key(row): row for row in rows}.values())

    uploads = one(contents.uploads, lambda u: u.upload_id)
    live = {u.upload_id for u in uploads if not u.completed}
    return IndexContents(
        one(contents.buckets, lambda b: b.name),
        one(contents.objects, lambda o: (o.bucket, o.key)),
        one(contents.versions, lambda v: (v.bucket, v.key, v.version)),
        one(contents.referrers, lambda r: (r.bucket, r.key, r.digest)),
        uploads,
        one(tuple(p for p in contents.parts if p[0] in live), lambda p: (p[0], p[1].part_number)),
    )


def _swapped(contents: IndexContents, rebuilt: IndexContents) -> IndexContents:
    """What ``replace_all(rebuilt)`` leaves of the rows ``contents`` compares: the registry's,
    but completed uploads stay and win over a live one of the same id (and take no parts)."""
    done = tuple(u for u in contents.uploads if u.completed)
    done_ids = {u.upload_id for u in done}
    fresh = tuple(u for u in rebuilt.uploads if u.upload_id not in done_ids)
    live = {u.upload_id for u in fresh}
    return replace(
        rebuilt, uploads=done + fresh, parts=tuple(p for p in rebuilt.parts if p[0] in live)
    )


@given(contents_)
def test_contents_compared_with_themselves_differ_in_nothing(contents: IndexContents) -> None:
    assert compare(_unique(contents), _unique(contents)) == []


@given(contents_, contents_)
def test_after_a_swap_nothing_differs_and_each_difference_names_a_row_that_differs(
    index: IndexContents, registry: IndexContents
) -> None:
    index = _unique(index)
    registry = replace(
        _unique(registry), uploads=tuple(u for u in registry.uploads if not u.completed)
    )
    registry = _unique(registry)
    assert compare(_swapped(index, registry), registry) == []
    found = compare(index, registry)
    assert len({(d.table, d.row) for d in found}) == len(found)
    for difference in found:
        assert (difference.index, difference.registry) != (None, None)
        if difference.index is not None and difference.registry is not None:
            assert difference.fields
        assert difference.table in index_check.TABLES
    assert [d.table for d in found] == sorted(
        (d.table for d in found), key=index_check.TABLES.index
    )


@given(contents_, contents_)
def test_swapping_the_sides_swaps_what_each_side_names(
    first: IndexContents, second: IndexContents
) -> None:
    """Without uploads (the completed-upload rule is one-sided), the comparison is symmetric."""
    first, second = (replace(_unique(c), uploads=(), parts=()) for c in (first, second))
    there = compare(first, second)
    back = compare(second, first)
    assert [(d.table, d.row, d.index, d.registry, d.fields) for d in there] == [
        (d.table, d.row, d.registry, d.index, d.fields) for d in back
    ]


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``reindex --check`` over the fakes of ``world`` (no process, no database)."""
    seen: dict[str, Any] = {}

    async def opened(_settings: Any) -> Store:
        if seen.get("not ready"):
            raise IndexNotReady("no index at /nowhere/index.db")
        return cast(Store, seen["store"])

    async def closed(_store: Store) -> None:
        seen["closed"] = True

    monkeypatch.setattr(cli, "open_store_to_check", opened)
    monkeypatch.setattr(cli, "close_store", closed)
    monkeypatch.setattr(cli, "configure_logging", lambda _settings: None)
    return seen


def run(checked: dict[str, Any], store: Store, *flags: str) -> int:
    checked["store"] = store
    return cli.main(["--data-dir", "/nowhere", "reindex", "--check", *flags])


async def test_the_command_exits_0_when_nothing_differs(
    checked: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    store, *_ = await world()
    assert await _in_thread(run, checked, store) == 0
    assert capsys.readouterr().out == (
        "no differences; the registry holds 1 buckets, 2 objects (0 skipped), "
        "1 referrers, 1 uploads (1 parts)\n"
    )
    assert checked["closed"]


async def test_the_command_prints_each_difference_and_exits_1(
    checked: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    store, _, index, _ = await world()
    gone = index.objects.pop((BUCKET, "a"))
    assert await _in_thread(run, checked, store) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"objects {BUCKET}/a: only in the registry ({gone.manifest_digest}); "
        "a reindex would add it",
        "1 differences; the registry holds 1 buckets, 2 objects (0 skipped), "
        "1 referrers, 1 uploads (1 parts)",
    ]


async def test_the_command_answers_json(
    checked: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    store, _, index, _ = await world()
    row = index.objects[(BUCKET, "a")]
    index.objects[(BUCKET, "a")] = replace(row, last_modified=row.last_modified + timedelta(1))
    assert await _in_thread(run, checked, store, "--json") == 1
    document = json.loads(capsys.readouterr().out)
    assert document == {
        "differences": [
            {
                "table": "objects",
                "row": f"{BUCKET}/a",
                "index": row.manifest_digest,
                "registry": row.manifest_digest,
                "fields": ["last_modified"],
            }
        ],
        "registry": {
            "buckets": 1,
            "objects": 2,
            "skipped": 0,
            "referrers": 1,
            "uploads": 1,
            "parts": 1,
        },
    }


async def test_an_index_it_cannot_read_unchanged_exits_2(
    checked: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    checked["not ready"] = True
    store, *_ = await world()
    assert await _in_thread(run, checked, store) == 2
    assert capsys.readouterr().err == "reindex --check: no index at /nowhere/index.db\n"


def test_json_goes_with_check(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--data-dir", "/nowhere", "reindex", "--json"])
    assert exited.value.code == 2
    assert "--json goes with --check" in capsys.readouterr().err


async def _in_thread(function: Any, *args: Any) -> Any:
    """``main`` runs its own event loop (asyncio.run): not inside this test's."""
    import anyio.to_thread

    return await anyio.to_thread.run_sync(lambda: function(*args))
