"""Resume state: round trips, fingerprints that change with the bytes, torn files ignored."""

from __future__ import annotations

import os
from pathlib import Path

from artifactstore.resume import (
    DownloadState,
    StoredPart,
    UploadState,
    UploadStateStore,
    fingerprint,
    load_download_state,
    partial_paths,
    write_json_atomically,
)
from hypothesis import given, settings
from hypothesis import strategies as st

parts = st.dictionaries(
    st.integers(1, 10_000),
    st.builds(
        StoredPart,
        etag=st.text(min_size=1, max_size=40),
        size=st.integers(0, 5 * 2**30),
        checksum=st.none() | st.text(max_size=16),
    ),
    max_size=20,
)


@settings(max_examples=50)
@given(bucket=st.text(min_size=1), key=st.text(min_size=1), stored=parts)
def test_upload_state_round_trips(tmp_path_factory, bucket: str, key: str, stored) -> None:
    directory = tmp_path_factory.mktemp("state")
    source = directory / "source.bin"
    source.write_bytes(b"x" * 100)
    fp = fingerprint(source)
    store = UploadStateStore(directory)
    state = UploadState(bucket, key, fp.token(), "upload-1", 5 * 2**20, "CRC64NVME", stored)
    store.save(state, fp)
    assert store.load(bucket, key, fp) == state
    store.delete(bucket, key, fp)
    assert store.load(bucket, key, fp) is None


def test_the_fingerprint_sees_changed_bytes_at_either_end(tmp_path: Path) -> None:
    source = tmp_path / "f.bin"
    source.write_bytes(b"a" * (3 * 2**20))
    first = fingerprint(source)
    stat = source.stat()
    with source.open("r+b") as out:
        out.seek(3 * 2**20 - 1)
        out.write(b"b")
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and mtime
    assert fingerprint(source).edges != first.edges
    assert fingerprint(source).size == first.size


def test_a_state_of_another_source_is_not_loaded(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"one")
    b.write_bytes(b"two!")
    store = UploadStateStore(tmp_path)
    store.save(UploadState("bk", "k", fingerprint(a).token(), "u", 1, None), fingerprint(a))
    assert store.load("bk", "k", fingerprint(b)) is None
    assert store.load("bk", "other", fingerprint(a)) is None


def test_torn_or_foreign_state_files_are_ignored(tmp_path: Path) -> None:
    source = tmp_path / "s"
    source.write_bytes(b"s")
    fp = fingerprint(source)
    store = UploadStateStore(tmp_path)
    path = store.path("b", "k", fp)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert store.load("b", "k", fp) is None
    path.write_text('{"bucket": "b"}')
    assert store.load("b", "k", fp) is None


def test_download_state_round_trips_beside_the_partial_file(tmp_path: Path) -> None:
    partial, state_path = partial_paths(tmp_path / "out.bin")
    assert partial.name == "out.bin.part"
    assert state_path.name == "out.bin.part.json"
    state = DownloadState("b", "k", '"etag"', 20, 5, [1, 3])
    write_json_atomically(state_path, state.to_json())
    assert load_download_state(state_path) == state
    state_path.write_text("[]")
    assert load_download_state(state_path) is None
    assert load_download_state(tmp_path / "missing.json") is None
