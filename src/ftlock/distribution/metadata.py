"""Core metadata of one distribution file, by the cheapest route the index allows.

Order: the cache (by the file's sha256) → PEP 658/714 ``.metadata`` file (hash-checked) →
HTTP range requests into the wheel → full download (hash-checked).  Each shortcut that
fails falls back to the next: a ``.metadata`` file that is missing, refused (HTTP error
after retries) or unparseable → range requests; a server that ignores ranges, answers
them wrongly, or whose ranges do not make a readable zip → the full download.  A hash that
does not match is never a shortcut failure: it is an error (:class:`HashMismatch`).  Sdists: ``PKG-INFO``
when it is Metadata-Version 2.2+ with static ``Requires-Dist``; otherwise the PEP 517
``prepare_metadata_for_build_wheel`` hook in an isolated build environment whose build
requirements come from the solve's own indexes (:mod:`ftlock.resolve.buildenv`), unless
``--no-build`` forbids it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import struct
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

import msgspec
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ftlock.errors import (
    BuildRequired,
    HashMismatch,
    IndexResponseError,
    MetadataError,
    OfflineMissing,
)
from ftlock.index.cache import Cache
from ftlock.index.filenames import split_filename
from ftlock.index.http import Downloaded, Http, InsecureURL, ResponseTooLarge
from ftlock._urls import redact
from ftlock.index.models import DistFile, Metadata
from ftlock.index.rangezip import (
    RangeNotSupported,
    SparseRemoteFile,
    TooLarge,
    check_central_directory,
    read_member,
)
from ftlock.untrusted import (
    MAX_DIST_BYTES,
    MAX_METADATA_BYTES,
    MAX_UNPACKED_SDIST_BYTES,
    shorten,
)


if TYPE_CHECKING:  # pragma: no cover
    from ftlock.resolve.buildenv import BuildEnvironments

log = logging.getLogger("ftlock.resolver.metadata")  # the name users see in -v output; kept across the move

#: What zipfile raises for bytes that are not a (complete, intact) zip archive.
BAD_ZIP = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, ValueError, NotImplementedError)


#: A header line: a field name (printable ASCII, no colon), a colon, the value.
_HEADER = re.compile(r"^([\x21-\x39\x3b-\x7e]+):[ \t]*(.*)$")
_NEWLINE = re.compile(r"\r\n|\r|\n")
#: The first empty line: two line ends in a row, read as _NEWLINE reads them (``\r\n`` is one).
_BLANK_LINE = re.compile(r"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)")


def decode_metadata(raw: bytes | str) -> str:
    """Metadata text: UTF-8, as the spec says; files old tools wrote in another encoding
    are read as latin-1, which never fails and keeps every ASCII field exact."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_headers(raw: bytes | str) -> dict[str, list[str]]:
    """The header fields of core metadata (METADATA / PKG-INFO), by lower-cased name.

    At least as lenient as pip: any bytes decode; the headers end at the first empty line;
    a line starting with whitespace continues the previous value.  One step further: any
    other line that is not a header continues the previous value too.  Old setuptools wrote
    a description's newlines into ``Summary:`` unindented, and reading such a line as the
    start of the body (as ``email``, hence pip, does) silently drops every
    ``Requires-Dist`` after it.  Nothing here raises: the caller decides what a missing
    field means.
    """
    fields: list[tuple[str, list[str]]] = []  # (lower-cased name, its lines)
    text = decode_metadata(raw).lstrip("\ufeff")
    body = _BLANK_LINE.search(text)  # the description after it is never split into lines
    for line in _NEWLINE.split(text if body is None else text[: body.start()]):
        if not line:
            break
        match = None if line[0] in " \t" else _HEADER.match(line)
        if match is not None:
            fields.append((match.group(1).lower(), [match.group(2)]))
        elif fields:
            fields[-1][1].append(line)
    headers: dict[str, list[str]] = {}
    for name, lines in fields:  # a folded value's lines joined by one space
        headers.setdefault(name, []).append(" ".join(part for part in (l.strip() for l in lines) if part))
    return headers


def _metadata_from(headers: dict[str, list[str]], source: str) -> Metadata:
    name = next(iter(headers.get("name", ())), "")
    version = next(iter(headers.get("version", ())), "")
    if not name or not version:
        raise MetadataError(f"{source}: metadata has no Name/Version")
    return Metadata(
        name=name,
        version=version,
        requires_dist=tuple(r for r in headers.get("requires-dist", ()) if r),
        requires_python=next(iter(headers.get("requires-python", ())), "") or None,
        provides_extra=tuple(e for e in headers.get("provides-extra", ()) if e),
    )


def parse_metadata(raw: bytes | str, source: str) -> Metadata:
    """Parse core metadata (METADATA / PKG-INFO) leniently (see :func:`read_headers`);
    the only error is a document without Name or Version."""
    return _metadata_from(read_headers(raw), source)


def find_wheel_metadata(names: list[str], project: str) -> str:
    """The ``<name>-<version>.dist-info/METADATA`` member of a wheel."""
    candidates = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if not candidates:
        raise MetadataError(f"{project}: wheel has no .dist-info/METADATA")
    wanted = canonicalize_name(project)
    for member in candidates:
        if _is_metadata_of(member, wanted):
            return member
    return candidates[0]


def _is_metadata_of(member: str, project: str) -> bool:
    """``member`` is ``<project>-<version>.dist-info/METADATA`` (``project`` normalised)."""
    if member.count("/") != 1 or not member.endswith(".dist-info/METADATA"):
        return False
    dist_name = member.split("/")[0].removesuffix(".dist-info").rsplit("-", 1)[0]
    return canonicalize_name(dist_name) == project


def _read_zip_member(archive: zipfile.ZipFile, name: str, source: str) -> bytes:
    """One member, at most :data:`MAX_METADATA_BYTES` of it (decompression included)."""
    if archive.getinfo(name).file_size > MAX_METADATA_BYTES:
        raise TooLarge(f"{source}: {name} is larger than {MAX_METADATA_BYTES >> 20} MiB")
    with archive.open(name) as member:
        raw = member.read(MAX_METADATA_BYTES + 1)
    if len(raw) > MAX_METADATA_BYTES:
        raise TooLarge(f"{source}: {name} is larger than {MAX_METADATA_BYTES >> 20} MiB")
    return raw


def read_wheel_metadata(file: BinaryIO, project: str, source: str) -> Metadata:
    """METADATA of the wheel in ``file`` (seekable): the one member read directly, or
    through zipfile when the archive is anything but plain (see ``rangezip.read_member``).
    Sizes are bounded either way: the central directory and METADATA cannot make ftlock
    read or inflate more than their limits, whatever the archive claims."""
    raw = read_member(
        file, lambda names: find_wheel_metadata(names, project), source,
        wanted=lambda member: _is_metadata_of(member, canonicalize_name(project)),
    )
    if raw is None:
        check_central_directory(file, source)
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            raw = _read_zip_member(archive, find_wheel_metadata(archive.namelist(), project), source)
    return parse_metadata(raw, source)


def _as_file(archive: bytes | BinaryIO) -> BinaryIO:
    if isinstance(archive, (bytes, bytearray)):
        return io.BytesIO(archive)
    archive.seek(0)
    return archive


def sdist_pkg_info(archive: bytes | BinaryIO, filename: str) -> bytes | None:
    """The top-level PKG-INFO of an sdist (.tar.gz or .zip), or None; at most
    :data:`MAX_METADATA_BYTES` of it, and the archive is read only up to that member."""
    fileobj = _as_file(archive)
    if filename.endswith(".zip"):
        check_central_directory(fileobj, filename)
        fileobj.seek(0)
        with zipfile.ZipFile(fileobj) as zf:
            names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith("/PKG-INFO")]
            return _read_zip_member(zf, names[0], filename) if names else None
    with tarfile.open(fileobj=fileobj, mode="r:*") as tf:
        for member in tf:  # lazily: the archive is decompressed only up to PKG-INFO
            if member.isfile() and member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                if member.size > MAX_METADATA_BYTES:
                    raise TooLarge(f"{filename}: PKG-INFO is larger than {MAX_METADATA_BYTES >> 20} MiB")
                extracted = tf.extractfile(member)
                return extracted.read() if extracted else None
    return None


def check_identity(metadata: Metadata, file: DistFile) -> None:
    """The metadata must describe the file it came from: a ``liar-1.0`` wheel whose METADATA
    says 9.9 would be locked as 1.0 with 9.9's dependencies (pip refuses it too)."""
    split = split_filename(file.filename)
    if split is None:
        return
    name, version_text = split
    try:
        same_version = Version(metadata.version) == Version(version_text)
    except (InvalidVersion, ValueError):
        same_version = False
    if canonicalize_name(metadata.name) != canonicalize_name(name) or not same_version:
        raise MetadataError(
            f"{file.filename}: its metadata says {shorten(metadata.name, 60)} {shorten(metadata.version, 60)}, "
            "not the name and version in its filename; refusing to use it"
        )


def _range_length(rng: str) -> int:
    """Bytes a ``Range: bytes=…`` header asks for."""
    spec = rng.removeprefix("bytes=")
    start, _, end = spec.partition("-")
    if not start:
        return int(end)
    return int(end) - int(start) + 1 if end else MAX_DIST_BYTES


def static_pkg_info(raw: bytes, source: str) -> Metadata | None:
    """PKG-INFO is trustworthy only from Metadata-Version 2.2 with Requires-Dist not Dynamic."""
    headers = read_headers(raw)
    try:
        version = Version(next(iter(headers.get("metadata-version", ())), "1.0"))
    except InvalidVersion:
        return None
    if version < Version("2.2"):
        return None
    dynamic = {d.strip().lower() for d in headers.get("dynamic", ())}
    if {"requires-dist", "requires-python", "provides-extra"} & dynamic:
        return None
    return _metadata_from(headers, source)


def build_metadata(source_dir: Path, project: str, builds: BuildEnvironments | None) -> Metadata:
    """Run the PEP 517 metadata hook in an isolated environment whose build requirements
    come from the solve's own indexes (:mod:`ftlock.distribution.pep517`, ``buildenv``), and
    parse the METADATA exactly as the backend wrote it."""
    from ftlock.distribution.pep517 import BuildFailed, prepare_metadata  # noqa: PLC0415 - rarely needed

    failed = f"{project}: building metadata (PEP 517) failed"
    if builds is None:
        raise MetadataError(f"{failed}: no build environment in this command")
    try:
        raw = prepare_metadata(source_dir, builds)
    except BuildFailed as exc:
        raise MetadataError(f"{failed}: {exc}") from None
    except MetadataError as exc:  # the build requirements: unresolvable, broken wheels
        raise MetadataError(f"{failed}: {exc}") from None
    return parse_metadata(raw, f"{project} (PEP 517 metadata hook)")


def extract_archive(archive: bytes | BinaryIO, filename: str, dest: Path) -> Path:
    """Unpack an sdist safely (no path outside ``dest``, no links out of it, at most
    :data:`MAX_UNPACKED_SDIST_BYTES` in all) and return its top-level source directory."""
    fileobj = _as_file(archive)
    too_big = f"{filename}: unpacks to more than {MAX_UNPACKED_SDIST_BYTES >> 20} MiB"
    if filename.endswith(".zip"):
        check_central_directory(fileobj, filename)
        fileobj.seek(0)
        with zipfile.ZipFile(fileobj) as zf:
            for name in zf.namelist():
                if name.startswith("/") or ".." in Path(name).parts:
                    raise MetadataError(f"{filename}: unsafe path {name!r} in archive")
            if sum(info.file_size for info in zf.infolist()) > MAX_UNPACKED_SDIST_BYTES:
                raise TooLarge(too_big)
            zf.extractall(dest)
    else:
        with tarfile.open(fileobj=fileobj, mode="r:*") as tf:
            total = 0
            for member in tf:  # stops decompressing as soon as the bound is passed
                total += member.size
                if total > MAX_UNPACKED_SDIST_BYTES:
                    raise TooLarge(too_big)
            if hasattr(tarfile, "data_filter"):
                tf.extractall(dest, filter="data")
            else:  # Python < 3.10.12 / 3.11.4: check paths ourselves
                for member in tf.getmembers():
                    if member.name.startswith("/") or ".." in Path(member.name).parts:
                        raise MetadataError(f"{filename}: unsafe path {member.name!r} in archive")
                    if member.issym() or member.islnk():
                        raise MetadataError(f"{filename}: links are not allowed in sdists")
                tf.extractall(dest)
    entries = [p for p in dest.iterdir()]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else dest


class MetadataFetcher(msgspec.Struct):
    """Metadata of index files, through the cache.

    The cache is shared by every solve and every index, and an index only *claims* a
    file's sha256: metadata read by the PEP 658 or range route was never checked against
    the file.  So such metadata is stored under the file's URL and the claimed hash
    (:meth:`Cache.url_key`) — one index's answer never stands in for another's — and only
    metadata of a file downloaded whole and hash-checked is stored under the bare sha256,
    where any index offering that hash may use it.
    """

    http: Http
    cache: Cache
    no_build: bool = False
    offline: bool = False
    #: where sdists without static metadata are built (None: this command builds nothing)
    builds: BuildEnvironments | None = None

    def get(self, project: str, file: DistFile) -> Metadata:
        log.debug("metadata of %s", file.filename)
        url_key = Cache.url_key(file.url, file.sha256) if file.sha256 else None
        if file.sha256 and url_key:
            cached = self.cache.get_metadata(file.sha256) or self.cache.get_metadata(
                url_key, verified=False
            )
            if cached is not None:
                return cached
        if self.offline:
            raise OfflineMissing(f"--offline: metadata of {file.filename} is not in the cache")
        if file.is_wheel:
            metadata, verified = self._wheel(project, file)
        else:
            with self.download(file) as body:
                metadata, verified = self._sdist(project, file, body), True
        check_identity(metadata, file)
        if file.sha256 and url_key:
            if verified:
                self.cache.put_metadata(file.sha256, metadata)
            else:
                self.cache.put_metadata(url_key, metadata, verified=False)
        return metadata

    # -- downloads -------------------------------------------------------------------------
    def download(self, file: DistFile) -> BinaryIO:
        """The whole file, streamed to a temporary file and checked against the index's
        sha256 (the caller closes it)."""
        downloaded = self.http.download(file.url, what=f"file {file.filename}")
        self._check(file, downloaded.sha256, downloaded.file)
        return downloaded.file

    @staticmethod
    def _check(file: DistFile, sha256: str, body: BinaryIO) -> None:
        if file.sha256 and sha256 != file.sha256:
            body.close()
            raise HashMismatch(
                f"{file.filename}: downloaded file does not match the index's sha256 "
                f"({file.sha256[:12]}…); refusing to use it"
            )

    # -- wheels ----------------------------------------------------------------------------
    def _wheel(self, project: str, file: DistFile) -> tuple[Metadata, bool]:
        """The wheel's metadata, and whether it was read from the hash-checked file."""
        source = redact(file.url)
        if file.has_metadata_file:
            metadata = self._pep658(file, source)
            if metadata is not None:
                return metadata, False
        body: BinaryIO
        try:
            remote = SparseRemoteFile(lambda rng: self._range(file.url, rng))
            # a read-only binary file (io.RawIOBase); typeshed's BinaryIO is nominal
            return read_wheel_metadata(cast(BinaryIO, remote), project, source), False
        except RangeNotSupported as exc:
            if isinstance(exc.body, Downloaded):  # the server sent the whole file instead
                body = exc.body.file
                self._check(file, exc.body.sha256, body)
            else:
                body = self.download(file)
        except InsecureURL:
            raise
        except TooLarge as exc:
            raise TooLarge(f"{file.filename}: {exc}" if file.filename not in str(exc) else str(exc)) from None
        except (*BAD_ZIP, IndexResponseError, MetadataError) as exc:
            # Range answers that do not make a readable wheel: perhaps the server, perhaps
            # the file.  The full download is hash-checked and settles which.
            log.debug("%s: range requests failed (%s); downloading it", file.filename, exc)
            body = self.download(file)
        with body:
            try:
                return read_wheel_metadata(body, project, source), file.sha256 is not None
            except BAD_ZIP as exc:
                raise MetadataError(f"{file.filename}: not a valid wheel ({exc})") from exc

    def _pep658(self, file: DistFile, source: str) -> Metadata | None:
        """The PEP 658 ``.metadata`` file, or None when that shortcut is unavailable."""
        try:
            fetched = self.http.get(
                file.url + ".metadata", limit=MAX_METADATA_BYTES, what=f"{file.filename}.metadata"
            )
        except (InsecureURL, ResponseTooLarge):
            raise
        except IndexResponseError as exc:  # 404, 403, 5xx after retries: use the wheel
            log.debug("%s; reading the wheel instead", exc)
            return None
        if file.metadata_sha256 and hashlib.sha256(fetched.body).hexdigest() != file.metadata_sha256:
            raise HashMismatch(
                f"{file.filename}.metadata does not match the hash the index advertised "
                f"({file.metadata_sha256[:12]}…); refusing to use it"
            )
        try:
            return parse_metadata(fetched.body, source + ".metadata")
        except MetadataError as exc:
            log.debug("%s; reading the wheel instead", exc)
            return None

    def _range(self, url: str, rng: str) -> tuple[int, str | None, bytes]:
        """One range request.  A 206 answer may be a little longer than asked, never more;
        a 200 (the server ignores ranges) is the whole file, streamed to disk and handed
        over in :class:`RangeNotSupported`."""
        asked = _range_length(rng)
        downloaded = self.http.download(
            url,
            headers={"Range": rng},
            ok=(200, 206, 416),
            limit=lambda status: MAX_DIST_BYTES if status == 200 else asked + 64 * 1024,
            what=f"range of {url.rsplit('/', 1)[-1]}",
        )
        if downloaded.status == 200:
            raise RangeNotSupported(downloaded)
        with downloaded.file:
            body = downloaded.file.read()
        return downloaded.status, downloaded.headers.get("content-range"), body

    # -- sdists ----------------------------------------------------------------------------
    def _sdist(self, project: str, file: DistFile, body: BinaryIO) -> Metadata:
        source = redact(file.url)
        try:
            raw = sdist_pkg_info(body, file.filename)
        except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, *BAD_ZIP) as exc:
            raise MetadataError(f"{file.filename}: unreadable sdist ({exc})") from exc
        if raw is not None:
            static = static_pkg_info(raw, source)
            if static is not None:
                return static
        if self.no_build:
            raise BuildRequired(
                f"{project}: {file.filename} has no static metadata and needs a PEP 517 build, "
                "which --no-build forbids"
            )
        with tempfile.TemporaryDirectory(prefix="ftlock-sdist-") as tmp:
            source_dir = extract_archive(body, file.filename, Path(tmp))
            return build_metadata(source_dir, project, self.builds)
