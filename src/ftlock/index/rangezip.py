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
import struct
import zlib
from collections.abc import Callable
from typing import BinaryIO

from ftlock.errors import MetadataError
from ftlock.untrusted import MAX_CENTRAL_DIRECTORY_BYTES, MAX_METADATA_BYTES

TAIL = 64 * 1024
#: All range requests for one wheel together: the directory, METADATA and some slack.
#: A central directory that claims gigabytes makes ftlock stop here, not fetch them.
RANGE_BUDGET = MAX_CENTRAL_DIRECTORY_BYTES + MAX_METADATA_BYTES + 4 * TAIL
MIN_FETCH = 64 * 1024
READ_BEHIND = 64 * 1024
#: room for a local header's extra field, which may differ from the directory's
LOCAL_EXTRA_SLACK = 1024

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class RangeNotSupported(Exception):
    """The server answered a range request with the whole body (or refused it); ``body``
    is that whole body, in whatever form the fetcher keeps it, or None."""

    def __init__(self, body: object = None) -> None:
        super().__init__("range requests not supported")
        self.body = body


class TooLarge(MetadataError):
    """An archive asks ftlock to read or inflate more than a limit allows."""


# fetch(range_header) -> (status, content_range_header_or_None, body)
RangeFetch = Callable[[str], "tuple[int, str | None, bytes]"]


class SparseRemoteFile(io.RawIOBase):
    def __init__(self, fetch: RangeFetch) -> None:
        super().__init__()
        self._fetch = fetch
        self._chunks: list[tuple[int, bytes]] = []
        self._pos = 0
        self.fetched = 0  # bytes asked for so far, against RANGE_BUDGET
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

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def want(self, start: int, end: int) -> None:
        """Fetch ``[start, end)`` in one request now, unless it is held already: a caller
        that knows exactly what it will read saves the read-behind guess."""
        start, end = max(0, start), min(self.length, end)
        if start >= end or self._chunk_holding(start, end) is not None:
            return
        if end - start > RANGE_BUDGET - self.fetched:
            return  # the reads that follow raise TooLarge, as they would have
        self._request(start, end, end)

    def _range(self, start: int, end: int) -> bytes:
        held = self._chunk_holding(start, end)
        if held is not None:
            chunk_start, chunk = held
            return chunk[start - chunk_start : end - chunk_start]
        fetch_end = min(self.length, max(end, start + MIN_FETCH))
        # Read behind too: the first miss is the central directory, and METADATA sits just
        # before it, behind RECORD (about as long as the directory).  One request for both
        # instead of two saves a round trip for big wheels (transformers, torch, numpy).
        fetch_start = max(0, start - (end - start) - READ_BEHIND)
        if end - start > RANGE_BUDGET - self.fetched:
            raise TooLarge(
                f"the wheel's directory asks for {end - start} more bytes; ftlock reads at most "
                f"{RANGE_BUDGET >> 20} MiB of a wheel to find its metadata"
            )
        fetch_start = max(fetch_start, start - (RANGE_BUDGET - self.fetched - (fetch_end - start)))
        body = self._request(fetch_start, fetch_end, end)
        return body[start - fetch_start : end - fetch_start]

    def _chunk_holding(self, start: int, end: int) -> tuple[int, bytes] | None:
        for chunk_start, chunk in self._chunks:
            if chunk_start <= start and end <= chunk_start + len(chunk):
                return chunk_start, chunk
        return None

    def _request(self, start: int, end: int, needed: int) -> bytes:
        """Ask for ``[start, end)``; the answer must be a 206 starting at ``start`` and
        reaching at least ``needed``, else the server does not do ranges (as it should)."""
        self.fetched += end - start
        status, content_range, body = self._fetch(f"bytes={start}-{end - 1}")
        match = _CONTENT_RANGE.match(content_range or "")
        if status != 206 or not match or int(match.group(1)) != start or len(body) < needed - start:
            raise RangeNotSupported(body if status == 200 else None)
        self._chunks.append((start, body))
        return body


# -- one member without parsing the whole directory ---------------------------------------
# zipfile builds a ZipInfo for every entry of the central directory: ~90 ms for torch's
# 13,000 entries, held under the GIL, on the critical path of every solve with torch.  A
# wheel's METADATA needs one entry, so the directory is scanned with struct alone and only
# the chosen member is read.  Anything outside the plain case (ZIP64, encryption, an
# unknown compression) returns None and the caller uses zipfile.
_EOCD = struct.Struct("<4s4H2LH")  # end of central directory
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # central directory file header
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header
_EOCD_SIG, _CENTRAL_SIG, _LOCAL_SIG = b"PK\x05\x06", b"PK\x01\x02", b"PK\x03\x04"


def check_central_directory(file: BinaryIO, source: str) -> None:
    """Refuse an archive whose central directory (as its end records claim, ZIP64
    included) is larger than :data:`MAX_CENTRAL_DIRECTORY_BYTES`, before zipfile reads it
    into memory."""
    import zipfile  # noqa: PLC0415 - only on the fallback paths

    try:
        end = zipfile._EndRecData(file)  # type: ignore[attr-defined]  # private zipfile API: no stub
    except (OSError, struct.error, ValueError):
        return  # zipfile gives the proper error
    if end is not None and end[zipfile._ECD_SIZE] > MAX_CENTRAL_DIRECTORY_BYTES:  # type: ignore[attr-defined]  # private: no stub
        raise TooLarge(
            f"{source}: its zip directory claims {end[zipfile._ECD_SIZE]} bytes, more than the "  # type: ignore[attr-defined]  # private: no stub
            f"{MAX_CENTRAL_DIRECTORY_BYTES >> 20} MiB ftlock reads"
        )


def read_member(
    file: BinaryIO,
    choose: Callable[[list[str]], str],
    source: str = "archive",
    wanted: Callable[[str], bool] | None = None,
) -> bytes | None:
    """The bytes of the member ``choose(names)`` picks, or None to let zipfile do it.
    Raises :class:`TooLarge` for a directory or member over the limits.

    ``wanted`` (the member a caller is sure of, e.g. its own project's METADATA) allows a
    shortcut when the central directory is longer than the tail already read: its last
    entries are in the tail (a wheel's ``.dist-info`` files come last), and when the
    wanted member's entry is among them, only that member is fetched — for torch one
    ~10 KiB request instead of its 1.2 MiB directory and the 1.3 MiB read behind it.  The
    member is checked as always (local header, name, size, CRC); anything else reads
    the whole directory as before."""
    size = file.seek(0, io.SEEK_END)
    tail_len = min(size, TAIL)  # what SparseRemoteFile already holds; wheels carry no comment
    file.seek(size - tail_len)
    tail = file.read(tail_len)
    at = tail.rfind(_EOCD_SIG)
    if at < 0 or at + _EOCD.size > len(tail):
        return None
    _, disk, _, _, entries, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
    if disk != 0 or entries == 0xFFFF or 0xFFFFFFFF in (cd_size, cd_offset):
        return None  # multi-disk or ZIP64
    tail_start = size - tail_len
    if cd_offset + cd_size != tail_start + at:
        return None  # data prepended to the archive: let zipfile work out the offsets
    if cd_size > MAX_CENTRAL_DIRECTORY_BYTES:
        raise TooLarge(
            f"{source}: its zip directory claims {cd_size} bytes, more than the "
            f"{MAX_CENTRAL_DIRECTORY_BYTES >> 20} MiB ftlock reads"
        )
    if wanted is not None and cd_offset < tail_start:
        in_tail = _entries_ending_at(tail, at)
        if in_tail:
            chosen = choose(list(in_tail))
            if wanted(chosen):
                data = _read_entry(file, in_tail[chosen], chosen, source)
                if data is not None:
                    return data
    file.seek(cd_offset)
    directory = file.read(cd_size)
    found = _entries(directory, 0, entries)
    if not found:
        return None  # zipfile gives the proper error
    chosen = choose(list(found))
    return _read_entry(file, found[chosen], chosen, source)


_Entry = tuple[int, int, int, int, int, int]  # flags, method, crc, compressed, size, offset


def _entries(directory: bytes, pos: int, count: int | None, end: int | None = None) -> dict[str, _Entry] | None:
    """The ``.dist-info/METADATA`` entries of the directory records from ``pos``: ``count``
    records, or every record up to exactly ``end``.  None when a record is malformed (or,
    with ``end``, the records do not end exactly there)."""
    found: dict[str, _Entry] = {}
    read = 0
    while (count is None or read < count) and (end is None or pos < end):
        if pos + _CENTRAL.size > len(directory):
            return None
        fields = _CENTRAL.unpack_from(directory, pos)
        if fields[0] != _CENTRAL_SIG:
            return None
        flags, method, crc, comp_size, raw_size = fields[3], fields[4], fields[7], fields[8], fields[9]
        name_len, extra_len, comment_len, offset = fields[10], fields[11], fields[12], fields[16]
        name_bytes = directory[pos + _CENTRAL.size : pos + _CENTRAL.size + name_len]
        if name_bytes.endswith(b".dist-info/METADATA"):
            name = name_bytes.decode("utf-8" if flags & 0x800 else "cp437")
            found[name] = (flags, method, crc, comp_size, raw_size, offset)
        pos += _CENTRAL.size + name_len + extra_len + comment_len
        read += 1
    if end is not None and pos != end:
        return None
    return found


def _entries_ending_at(tail: bytes, eocd: int) -> dict[str, _Entry]:
    """The METADATA entries among the directory records that lie wholly in ``tail`` before
    the end record at ``eocd``: from the first record signature whose chain of records
    ends exactly there (a signature inside a name or an extra field does not)."""
    pos = tail.find(_CENTRAL_SIG)
    for _ in range(_CHAIN_STARTS):  # the first whole record is at most a name or two away
        if not 0 <= pos < eocd:
            break
        found = _entries(tail, pos, None, end=eocd)
        if found is not None:
            return found
        pos = tail.find(_CENTRAL_SIG, pos + 1)
    return {}


#: signatures tried as the first whole record in the tail (bounds the work a crafted
#: directory full of signatures can cause; past it, the whole directory is read)
_CHAIN_STARTS = 16


def _read_entry(file: BinaryIO, entry: _Entry, chosen: str, source: str) -> bytes | None:
    """The member ``entry`` describes, checked against its local header and CRC."""
    flags, method, crc, comp_size, raw_size, offset = entry
    if flags & 0x1 or method not in (0, 8) or 0xFFFFFFFF in (comp_size, raw_size, offset):
        return None
    if raw_size > MAX_METADATA_BYTES or comp_size > MAX_METADATA_BYTES:
        raise TooLarge(f"{source}: {chosen} is larger than {MAX_METADATA_BYTES >> 20} MiB")
    want = getattr(file, "want", None)
    if want is not None:  # one request for the header, the name, an extra field and the data
        want(offset, offset + _LOCAL.size + len(chosen.encode()) + LOCAL_EXTRA_SLACK + comp_size)
    file.seek(offset)
    local = file.read(_LOCAL.size)
    if len(local) != _LOCAL.size or local[:4] != _LOCAL_SIG:
        return None
    name_len, extra_len = _LOCAL.unpack(local)[9:11]
    if file.read(name_len) != chosen.encode("utf-8" if flags & 0x800 else "cp437"):
        return None
    file.seek(offset + _LOCAL.size + name_len + extra_len)
    data = file.read(comp_size)
    if method == 8:
        try:  # inflate no further than the limit, whatever the header claimed
            data = zlib.decompressobj(-15).decompress(data, MAX_METADATA_BYTES + 1)
        except zlib.error:
            return None
        if len(data) > MAX_METADATA_BYTES:
            raise TooLarge(f"{source}: {chosen} is larger than {MAX_METADATA_BYTES >> 20} MiB")
    if len(data) != raw_size or zlib.crc32(data) != crc:
        return None
    return data
