"""Read one member of a remote zip (a wheel) with HTTP range requests.

A wheel's ``*.dist-info/METADATA`` is a few KiB at the end of the archive, even for a
900 MB torch wheel.  :class:`SparseRemoteFile` is a seekable file that fetches only the byte
ranges :mod:`zipfile` actually reads: the last 64 KiB (end-of-central-directory and, for most
wheels, the central directory and METADATA too); for wheels with thousands of files, one
more request covering the central directory and what lies before it, where METADATA is.
Typically one request, two for the largest wheels.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

TAIL = 64 * 1024
MIN_FETCH = 64 * 1024
READ_BEHIND = 64 * 1024

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class RangeNotSupported(Exception):
    """The server answered a range request with the whole body (or refused it)."""

    def __init__(self, body: bytes | None = None) -> None:
        super().__init__("range requests not supported")
        self.body = body


# fetch(range_header) -> (status, content_range_header_or_None, body)
RangeFetch = Callable[[str], "tuple[int, str | None, bytes]"]


class SparseRemoteFile(io.RawIOBase):
    def __init__(self, fetch: RangeFetch) -> None:
        super().__init__()
        self._fetch = fetch
        self._chunks: list[tuple[int, bytes]] = []
        self._pos = 0
        status, content_range, body = fetch(f"bytes=-{TAIL}")
        if status == 200:
            raise RangeNotSupported(body)
        match = _CONTENT_RANGE.match(content_range or "")
        if status != 206 or not match or match.group(3) == "*":
            raise RangeNotSupported(None)
        self.length = int(match.group(3))
        self._chunks.append((int(match.group(1)), body))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int = -1) -> bytes:
        end = self.length if size is None or size < 0 else min(self.length, self._pos + size)
        if self._pos >= end:
            return b""
        data = self._range(self._pos, end)
        self._pos = end
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _range(self, start: int, end: int) -> bytes:
        for chunk_start, chunk in self._chunks:
            if chunk_start <= start and end <= chunk_start + len(chunk):
                return chunk[start - chunk_start : end - chunk_start]
        fetch_end = min(self.length, max(end, start + MIN_FETCH))
        # Read behind too: the first miss is the central directory, and METADATA sits just
        # before it, behind RECORD (about as long as the directory).  One request for both
        # instead of two saves a round trip for big wheels (transformers, torch, numpy).
        fetch_start = max(0, start - (end - start) - READ_BEHIND)
        status, content_range, body = self._fetch(f"bytes={fetch_start}-{fetch_end - 1}")
        match = _CONTENT_RANGE.match(content_range or "")
        if (
            status != 206 or not match or int(match.group(1)) != fetch_start
            or len(body) < end - fetch_start
        ):
            raise RangeNotSupported(body if status == 200 else None)
        self._chunks.append((fetch_start, body))
        return body[start - fetch_start : end - fetch_start]
