"""A version a request names by its ``versionId`` (GET, HEAD, copy sources, tagging,
attributes): parsed and looked up here, apart from ``versions.py`` (which writes versions and
needs ``tagging``), so that ``tagging`` can look one up too."""

from __future__ import annotations

import re

from gateway.domain import mapping
from gateway.domain.buckets import get_bucket
from gateway.domain.errors import DeleteMarkerVersion, InvalidArgument, NoSuchVersion
from gateway.domain.store import Store
from gateway.domain.values import ObjectRecord

_VERSION_ID = re.compile(r"[0-9a-f]{32}")


def parse_version_id(text: str) -> str | None:
    """A ``versionId`` parameter: None for ``null``; InvalidArgument if it cannot be one."""
    if text == mapping.NULL_VERSION:
        return None
    if not _VERSION_ID.fullmatch(text):
        raise InvalidArgument("Invalid version id specified")
    return text


async def named_version(store: Store, bucket: str, key: str, version: str) -> ObjectRecord:
    """The version a ``versionId`` parameter names (as sent): NoSuchVersion if the key has
    none such, 405 MethodNotAllowed if it is a delete marker."""
    await get_bucket(store, bucket)
    record = await store.index.get_version(bucket, key, parse_version_id(version))
    if record is None:
        raise NoSuchVersion(version)
    if record.delete_marker:
        raise DeleteMarkerVersion(record.version, record.last_modified)
    return record
