"""Small blobs kept in memory by digest, so that reading a small object again costs no
registry request.

A digest names its bytes: an entry can never be stale, whatever happens to tags, manifests
or the index, so nothing ever needs to be invalidated. Only blobs whose bytes the registry
has confirmed are kept (pushed with their digest and answered 201, or read whole from it).
What may be read is decided before the registry port is reached; the cache answers only
the reads the domain asks for. Bounded twice: by the size of one blob and by the total, the
least recently used going first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Callable


class BlobCache:
    def __init__(self, capacity: int, largest: int = 256 * 1024) -> None:
        self.capacity = capacity
        self.largest = min(largest, capacity)
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0

    def fits(self, size: int) -> bool:
        return 0 < size <= self.largest

    def get(self, digest: str) -> bytes | None:
        data = self._entries.get(digest)
        if data is not None:
            self._entries.move_to_end(digest)
        return data

    def put(self, digest: str, data: bytes) -> None:
        if not self.fits(len(data)) or digest in self._entries:
            return
        self._entries[digest] = data
        self._size += len(data)
        while self._size > self.capacity:
            _, dropped = self._entries.popitem(last=False)
            self._size -= len(dropped)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        return self._size


class CachedBlob:
    """A blob (or an inclusive range of it) answered from memory: what ``open_blob`` yields."""

    def __init__(self, data: bytes, byte_range: tuple[int, int] | None) -> None:
        if byte_range is None:
            self.status, self._data = 200, data
        else:
            self.status, self._data = 206, data[byte_range[0] : byte_range[1] + 1]
        self.length = len(self._data)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._data:
            yield self._data


async def recorded(
    pieces: AsyncIterable[bytes], size: int, keep: Callable[[bytes], None]
) -> AsyncIterator[bytes]:
    """Pass ``pieces`` on and hand their concatenation to ``keep`` when exactly ``size`` bytes
    went by (a stream cut short, or longer than announced, is not kept)."""
    seen: list[bytes] = []
    total = 0
    async for piece in pieces:
        total += len(piece)
        if total <= size:
            seen.append(piece)
        yield piece
    if total == size:
        keep(b"".join(seen))
