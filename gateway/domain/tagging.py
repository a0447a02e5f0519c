"""Object tags (Get/Put/DeleteObjectTagging) and bucket tags (Get/Put/DeleteBucketTagging).

Tags given with the write (``x-amz-tagging`` on PutObject, CreateMultipartUpload, CopyObject)
are annotations of the object's manifest. A tag set changed later cannot go there: a new
manifest would change the object's digest, which its signatures and SBOMs name as their
``subject``. So PutObjectTagging and DeleteObjectTagging push a small *tagging manifest*, a
referrer of the object's manifest (``mapping.tagging_manifest``), record its digest and the
tags in the object's index row (GET/HEAD count the tags from that row, never asking the
registry), and delete the tagging manifest it replaces. It lives and dies with that version:
an overwrite or a delete removes it (``objects.commit``, ``objects.delete_object``), and
``reindex`` takes the newest tagging manifest of each live object's manifest over the tags
of the manifest itself. Bucket tags are one setting of the bucket's record manifest, as its
policy is.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from datetime import UTC, datetime

from gateway.domain import mapping
from gateway.domain.buckets import get_bucket, set_setting
from gateway.domain.errors import NoSuchKey
from gateway.domain.ports.registry import RegistryError
from gateway.domain.store import Store
from gateway.domain.values import ObjectRecord
from gateway.domain.version_ids import named_version

TAGGING_SETTING = "tagging"  # the bucket's tag set as a JSON object, in its settings


async def get_object_tagging(
    store: Store, bucket: str, key: str, version: str | None = None
) -> ObjectRecord:
    """The object (or its version ``version``, the ``versionId`` as sent), whose ``tags``
    are its tag set."""
    if version is not None:
        return await named_version(store, bucket, key, version)
    await get_bucket(store, bucket)
    record = await store.index.get_object(bucket, key)
    if record is None:
        raise NoSuchKey()
    return record


async def existing_tags(store: Store, bucket: str, key: str) -> dict[str, str] | None:
    """The tags of the key's live object, or None when there is none (for the policy keys
    ``s3:ExistingObjectTag/<key>``)."""
    record = await store.index.get_object(bucket, key)
    return record.tags if record is not None else None


async def _manifest_size(store: Store, record: ObjectRecord) -> int:
    """The size of the object's manifest, for the subject descriptor: recomputed from the
    record while its tags are still the manifest's, read from the registry otherwise."""
    manifest = mapping.object_manifest(record)
    if mapping.manifest_digest(manifest) == record.manifest_digest:
        return len(manifest)
    location = mapping.locate(store.prefix, record.bucket, record.key)
    return len(
        (await store.registry.get_manifest(location.repository, record.manifest_digest)).body
    )


async def put_object_tagging(
    store: Store, bucket: str, key: str, tags: dict[str, str], version: str | None = None
) -> ObjectRecord:
    """Replace the object's tag set (an empty one deletes it), or that of its version
    ``version`` (the ``versionId`` as sent, current or not): a tagging manifest whose
    subject is the version's manifest goes to the registry, then the index row commits, then
    the tagging manifest it replaces is deleted (best effort: ``reindex`` takes the newest)."""
    await get_bucket(store, bucket)
    location = mapping.locate(store.prefix, bucket, key)
    async with store.locks.hold((bucket, key)):
        current = (
            await named_version(store, bucket, key, version)
            if version is not None
            else await store.index.get_object(bucket, key)
        )
        if current is None:
            raise NoSuchKey()
        if current.tags == tags:
            return current
        created = mapping.truncate_to_millis(datetime.now(UTC))
        manifest = mapping.tagging_manifest(
            current, await _manifest_size(store, current), tags, created
        )
        await store.registry.ensure_blob(
            location.repository, mapping.EMPTY_BLOB, mapping.EMPTY_DIGEST
        )
        pushed = await store.registry.push_referrer(location.repository, manifest)
        record = replace(current, tags=dict(sorted(tags.items())), tagging=pushed.digest)
        if version is None:
            await store.index.put_object(record)
        else:
            await store.index.retag_version(record)
        if current.tagging is not None:
            await forget_tagging(store, location.repository, current)
    return record


async def forget_tagging(store: Store, repository: str, record: ObjectRecord) -> None:
    """Best effort: a tagging manifest left behind costs space; ``reindex`` reads only the
    newest of a live version's."""
    if record.tagging is None:
        return
    with contextlib.suppress(RegistryError):
        await store.registry.remove_referrer(repository, record.manifest_digest, record.tagging)


async def get_bucket_tagging(store: Store, bucket: str) -> dict[str, str] | None:
    """The bucket's tag set; None when it has none (NoSuchTagSet)."""
    text = (await get_bucket(store, bucket)).settings.get(TAGGING_SETTING)
    if not text:
        return None
    tags: dict[str, str] = json.loads(text)
    return tags


async def put_bucket_tagging(store: Store, bucket: str, tags: dict[str, str] | None) -> None:
    text = json.dumps(dict(sorted(tags.items()))) if tags is not None else None
    await set_setting(store, bucket, TAGGING_SETTING, text)
