"""Resumable single-stream uploads, the model of the tus protocol: the length is declared up
front, bytes are appended at the current offset, and the object is committed when the last
byte arrives.

Built on multipart uploads: each append is stored as the next part (its own blob, streamed,
verified), so an append cut off by the network stores nothing and the offset stays where it
was, for the client to resume from. The finished upload is completed like any multipart
upload (no minimum part size) and becomes an ordinary S3 object.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass

from gateway.domain import multipart
from gateway.domain.errors import Conflict, InvalidArgument, NoSuchUpload
from gateway.domain.objects import NO_WRITE_CONDITIONS, NewObject
from gateway.domain.store import Store
from gateway.domain.values import UploadRecord

MAX_LENGTH = 5 * 1024**4  # S3's largest object


class OffsetMismatch(Conflict):
    """The upload's offset is not the one the request was sent for."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"The upload is at offset {offset}.")
        self.offset = offset


@dataclass(frozen=True)
class Progress:
    upload: UploadRecord
    length: int
    offset: int

    @property
    def done(self) -> bool:
        return self.offset == self.length


async def start(store: Store, bucket: str, key: str, length: int, new: NewObject) -> Progress:
    """Open an upload of ``length`` bytes; one of no bytes is complete at once."""
    if not 0 <= length <= MAX_LENGTH:
        raise InvalidArgument(f"The upload length must be between 0 and {MAX_LENGTH}.")
    upload = await multipart.create_multipart_upload(store, bucket, key, new, length=length)
    if length == 0:
        return await append(store, upload.upload_id, 0, _nothing(), 0, NewObject({}, {}))
    return Progress(upload, length, 0)


async def _nothing() -> AsyncIterable[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


async def resumable_upload(store: Store, upload_id: str) -> UploadRecord:
    """The resumable upload ``upload_id``, live or completed (still remembered): whose
    object it writes. NoSuchUpload for anything else, multipart uploads included."""
    upload = await store.index.get_upload(upload_id, live=False)
    if upload is None or upload.length is None:
        raise NoSuchUpload()
    return upload


async def progress(store: Store, upload_id: str) -> Progress:
    """Where an upload stands; a completed one (still remembered) stands at its length."""
    upload = await resumable_upload(store, upload_id)
    length = upload.length or 0  # set: resumable_upload checked
    if upload.completed:
        return Progress(upload, length, length)
    parts = await store.index.list_parts(upload_id)
    return Progress(upload, length, sum(part.size for part in parts))


async def append(
    store: Store,
    upload_id: str,
    offset: int,
    body: AsyncIterable[bytes],
    size: int,
    new: NewObject,
) -> Progress:
    """Store ``size`` bytes at ``offset`` (which must be the current one); commit the object
    when they are the last ones."""
    async with store.locks.hold(("upload", upload_id)):
        state = await progress(store, upload_id)
        if state.upload.completed or state.offset != offset:
            raise OffsetMismatch(state.offset)
        if offset + size > state.length:
            raise InvalidArgument("The body goes past the upload's declared length.")
        upload = state.upload
        parts = await store.index.list_parts(upload_id)
        if size or state.length == 0:
            part, _ = await multipart.upload_part(
                store, upload.bucket, upload.key, upload_id, len(parts) + 1, body, size, new
            )
            parts.append(part)
        state = Progress(upload, state.length, offset + size)
        if state.done:
            requested = [multipart.RequestedPart(p.part_number, p.etag) for p in parts]
            await multipart.complete_multipart_upload(
                store,
                upload.bucket,
                upload.key,
                upload_id,
                requested,
                conditions=NO_WRITE_CONDITIONS,
                declared={},
                min_part_size=0,
            )
        return state


async def terminate(store: Store, upload_id: str) -> None:
    upload = await store.index.get_upload(upload_id)
    if upload is None or upload.length is None:
        raise NoSuchUpload()
    await multipart.abort_multipart_upload(store, upload.bucket, upload.key, upload_id)
