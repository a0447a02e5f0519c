"""Resume state: small JSON files that let a killed transfer continue where it stopped.

An upload's state is keyed by bucket, key and the source's fingerprint (size, mtime and a
hash of its first and last MiB), so a changed file never continues an upload of its old
bytes; the parts it names are checked against ListParts before they are reused. A
download's state sits beside its partial file and names the object's ETag, which every
resumed range request sends as ``If-Match``."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

EDGE = 1024 * 1024  # bytes hashed at each end of a source


@dataclass(frozen=True)
class Fingerprint:
    size: int
    mtime_ns: int
    edges: str  # hex SHA-256 of the first and last MiB

    def token(self) -> str:
        return f"{self.size}:{self.mtime_ns}:{self.edges}"


def fingerprint(path: Path) -> Fingerprint:
    stat = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as source:
        digest.update(source.read(EDGE))
        if stat.st_size > EDGE:
            source.seek(max(EDGE, stat.st_size - EDGE))
            digest.update(source.read(EDGE))
    return Fingerprint(stat.st_size, stat.st_mtime_ns, digest.hexdigest())


@dataclass
class StoredPart:
    etag: str
    size: int
    checksum: str | None = None


@dataclass
class UploadState:
    bucket: str
    key: str
    fingerprint: str
    upload_id: str
    part_size: int
    checksum_algorithm: str | None
    parts: dict[int, StoredPart] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["parts"] = {str(n): asdict(p) for n, p in sorted(self.parts.items())}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadState:
        parts = {int(n): StoredPart(**p) for n, p in data.get("parts", {}).items()}
        return cls(**{**data, "parts": parts})


@dataclass
class DownloadState:
    bucket: str
    key: str
    etag: str
    size: int
    range_size: int
    done: list[int] = field(default_factory=list)  # range numbers written and flushed

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DownloadState:
        return cls(**data)


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write then rename: a process killed mid-write leaves the previous state intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    """The state, or None when absent or unreadable (a state file is only ever a hint)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class UploadStateStore:
    """Upload states under one directory, one file per (bucket, key, fingerprint)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, bucket: str, key: str, fp: Fingerprint) -> Path:
        name = hashlib.sha256(f"{bucket}\0{key}\0{fp.token()}".encode()).hexdigest()
        return self.directory / "uploads" / f"{name}.json"

    def load(self, bucket: str, key: str, fp: Fingerprint) -> UploadState | None:
        data = read_json(self.path(bucket, key, fp))
        if data is None:
            return None
        try:
            state = UploadState.from_json(data)
        except (TypeError, ValueError):
            return None
        if (state.bucket, state.key, state.fingerprint) != (bucket, key, fp.token()):
            return None
        return state

    def save(self, state: UploadState, fp: Fingerprint) -> None:
        write_json_atomically(self.path(state.bucket, state.key, fp), state.to_json())

    def delete(self, bucket: str, key: str, fp: Fingerprint) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(bucket, key, fp).unlink()


def partial_paths(destination: Path) -> tuple[Path, Path]:
    """The partial file and its state, beside the destination (same file system: rename)."""
    return (
        destination.with_name(destination.name + ".part"),
        destination.with_name(destination.name + ".part.json"),
    )


def load_download_state(path: Path) -> DownloadState | None:
    data = read_json(path)
    if data is None:
        return None
    try:
        return DownloadState.from_json(data)
    except (TypeError, ValueError):
        return None
