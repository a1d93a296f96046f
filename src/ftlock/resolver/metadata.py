"""Core metadata of one distribution file, by the cheapest route the index allows.

Order: the cache (by the file's sha256) → PEP 658/714 ``.metadata`` file (hash-checked) →
HTTP range requests into the wheel → full download (hash-checked).  Each shortcut that
fails falls back to the next: a ``.metadata`` file that is missing, refused (HTTP error
after retries) or unparseable → range requests; a server that ignores ranges, answers
them wrongly, or whose ranges do not make a readable zip → the full download.  A hash that
does not match is never a shortcut failure: it is an error (:class:`HashMismatch`).  Sdists: ``PKG-INFO``
when it is Metadata-Version 2.2+ with static ``Requires-Dist``; otherwise the PEP 517
``prepare_metadata_for_build_wheel`` hook in an isolated build environment (``build``),
unless ``--no-build`` forbids it.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import io
import logging
import struct
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from packaging.utils import canonicalize_name
from packaging.version import Version

from ftlock.errors import (
    BuildRequired,
    HashMismatch,
    IndexResponseError,
    MetadataError,
    OfflineMissing,
)
from ftlock.resolver.cache import Cache
from ftlock.resolver.http import Http, InsecureURL
from ftlock.resolver.indexes import redact
from ftlock.resolver.models import DistFile, Metadata
from ftlock.resolver.rangezip import RangeNotSupported, SparseRemoteFile, read_member


log = logging.getLogger(__name__)

#: What zipfile raises for bytes that are not a (complete, intact) zip archive.
BAD_ZIP = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, ValueError, NotImplementedError)


def parse_metadata(raw: bytes | str, source: str) -> Metadata:
    """Parse RFC 822 core metadata (METADATA / PKG-INFO)."""
    parser = email.parser.BytesParser(policy=email.policy.compat32)
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    msg = parser.parsebytes(data, headersonly=True)
    name, version = msg.get("Name"), msg.get("Version")
    if not name or not version:
        raise MetadataError(f"{source}: metadata has no Name/Version")
    return Metadata(
        name=str(name).strip(),
        version=str(version).strip(),
        requires_dist=tuple(str(r).strip() for r in msg.get_all("Requires-Dist") or ()),
        requires_python=(str(msg.get("Requires-Python")).strip() or None)
        if msg.get("Requires-Python")
        else None,
        provides_extra=tuple(str(e).strip() for e in msg.get_all("Provides-Extra") or ()),
    )


def find_wheel_metadata(names: list[str], project: str) -> str:
    """The ``<name>-<version>.dist-info/METADATA`` member of a wheel."""
    candidates = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if not candidates:
        raise MetadataError(f"{project}: wheel has no .dist-info/METADATA")
    wanted = canonicalize_name(project)
    for member in candidates:
        dist_name = member.split("/")[0].removesuffix(".dist-info").rsplit("-", 1)[0]
        if canonicalize_name(dist_name) == wanted:
            return member
    return candidates[0]


def read_wheel_metadata(file: BinaryIO, project: str, source: str) -> Metadata:
    """METADATA of the wheel in ``file`` (seekable): the one member read directly, or
    through zipfile when the archive is anything but plain (see ``rangezip.read_member``)."""
    raw = read_member(file, lambda names: find_wheel_metadata(names, project))
    if raw is None:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            raw = archive.read(find_wheel_metadata(archive.namelist(), project))
    return parse_metadata(raw, source)


def sdist_pkg_info(archive_bytes: bytes, filename: str) -> bytes | None:
    """The top-level PKG-INFO of an sdist (.tar.gz or .zip), or None."""
    if filename.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(archive_bytes)) as zf:
            names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith("/PKG-INFO")]
            return zf.read(names[0]) if names else None
    with tarfile.open(fileobj=io.BytesIO(archive_bytes), mode="r:*") as tf:
        for member in tf.getmembers():
            if member.isfile() and member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                extracted = tf.extractfile(member)
                return extracted.read() if extracted else None
    return None


def static_pkg_info(raw: bytes, source: str) -> Metadata | None:
    """PKG-INFO is trustworthy only from Metadata-Version 2.2 with Requires-Dist not Dynamic."""
    msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)
    try:
        version = Version(str(msg.get("Metadata-Version", "1.0")))
    except Exception:
        return None
    if version < Version("2.2"):
        return None
    dynamic = {str(d).strip().lower() for d in msg.get_all("Dynamic") or ()}
    if {"requires-dist", "requires-python", "provides-extra"} & dynamic:
        return None
    return parse_metadata(raw, source)


def build_metadata(source_dir: Path, project: str) -> Metadata:
    """Run the PEP 517 metadata hook in an isolated environment (in a child process)."""
    from ftlock.resolver.pep517 import run_metadata_hook  # noqa: PLC0415 - rarely needed

    try:
        text = run_metadata_hook(source_dir)
    except RuntimeError as exc:
        raise MetadataError(f"{project}: building metadata (PEP 517) failed: {exc}") from None
    return parse_metadata(text, f"{project} (PEP 517 metadata hook)")


def extract_archive(archive_bytes: bytes, filename: str, dest: Path) -> Path:
    """Unpack an sdist safely and return its top-level source directory."""
    if filename.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(archive_bytes)) as zf:
            for name in zf.namelist():
                if name.startswith("/") or ".." in Path(name).parts:
                    raise MetadataError(f"{filename}: unsafe path {name!r} in archive")
            zf.extractall(dest)
    else:
        with tarfile.open(fileobj=io.BytesIO(archive_bytes), mode="r:*") as tf:
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


@dataclass
class MetadataFetcher:
    http: Http
    cache: Cache
    no_build: bool = False
    offline: bool = False

    def get(self, project: str, file: DistFile) -> Metadata:
        log.debug("metadata of %s", file.filename)
        if file.sha256:
            cached = self.cache.get_metadata(file.sha256)
            if cached is not None:
                return cached
        if self.offline:
            raise OfflineMissing(f"--offline: metadata of {file.filename} is not in the cache")
        if file.is_wheel:
            metadata = self._wheel(project, file)
        else:
            metadata = self._sdist(project, file, self.download(file))
        if file.sha256:
            self.cache.put_metadata(file.sha256, metadata)
        return metadata

    # -- downloads -------------------------------------------------------------------------
    def download(self, file: DistFile) -> bytes:
        body = self.http.get(file.url).body
        self._check(file, body)
        return body

    @staticmethod
    def _check(file: DistFile, body: bytes) -> None:
        if file.sha256 and hashlib.sha256(body).hexdigest() != file.sha256:
            raise HashMismatch(
                f"{file.filename}: downloaded file does not match the index's sha256 "
                f"({file.sha256[:12]}…); refusing to use it"
            )

    # -- wheels ----------------------------------------------------------------------------
    def _wheel(self, project: str, file: DistFile) -> Metadata:
        source = redact(file.url)
        if file.has_metadata_file:
            metadata = self._pep658(file, source)
            if metadata is not None:
                return metadata
        try:
            remote = SparseRemoteFile(lambda rng: self._range(file.url, rng))
            return read_wheel_metadata(remote, project, source)  # type: ignore[arg-type]
        except RangeNotSupported as exc:
            if exc.body is not None:  # the server sent the whole file instead
                body = exc.body
                self._check(file, body)
            else:
                body = self.download(file)
        except InsecureURL:
            raise
        except (*BAD_ZIP, IndexResponseError, MetadataError) as exc:
            # Range answers that do not make a readable wheel: perhaps the server, perhaps
            # the file.  The full download is hash-checked and settles which.
            log.debug("%s: range requests failed (%s); downloading it", file.filename, exc)
            body = self.download(file)
        try:
            return read_wheel_metadata(io.BytesIO(body), project, source)
        except BAD_ZIP as exc:
            raise MetadataError(f"{file.filename}: not a valid wheel ({exc})") from exc

    def _pep658(self, file: DistFile, source: str) -> Metadata | None:
        """The PEP 658 ``.metadata`` file, or None when that shortcut is unavailable."""
        try:
            fetched = self.http.get(file.url + ".metadata")
        except InsecureURL:
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
        fetched = self.http.get(url, headers={"Range": rng}, ok=(200, 206, 416))
        return fetched.status, fetched.headers.get("content-range"), fetched.body

    # -- sdists ----------------------------------------------------------------------------
    def _sdist(self, project: str, file: DistFile, body: bytes) -> Metadata:
        source = redact(file.url)
        try:
            raw = sdist_pkg_info(body, file.filename)
        except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
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
            return build_metadata(source_dir, project)
