"""Direct references: ``name @ URL``, bare wheel/sdist URLs, local files and directories,
and ``git+`` URLs (through the ``git`` command, pinned to the resolved commit).

Each becomes exactly one :class:`Candidate` before the solve starts, so the solver treats
it like a package with a single version.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ftlock.errors import HashMismatch, MetadataError, UsageError
from ftlock.resolve.candidates import Candidate
from ftlock.index.http import Http
from ftlock._urls import redact
from ftlock.distribution.metadata import (
    build_metadata,
    extract_archive,
    read_wheel_metadata,
    sdist_pkg_info,
    static_pkg_info,
)
from ftlock.index.models import DistFile, Metadata

if TYPE_CHECKING:  # pragma: no cover
    from ftlock.resolve.buildenv import BuildEnvironments


def _hash_file(fh: BinaryIO) -> tuple[str, int]:
    """sha256 and size of an open local file, read in blocks (a local wheel may be GiBs)."""
    digest, size = hashlib.sha256(), 0
    for block in iter(lambda: fh.read(1024 * 1024), b""):
        digest.update(block)
        size += len(block)
    fh.seek(0)
    return digest.hexdigest(), size


def looks_like_path(text: str) -> bool:
    return text.startswith((".", "/", "~")) or text.endswith((".whl", ".tar.gz", ".zip"))


def is_direct_reference(text: str) -> bool:
    """A bare path or URL (``./pkg``, ``x.whl``, ``https://…``) rather than a requirement;
    ``name @ url`` is a requirement.  Requirement files, the command line and
    ``[tool.ftlock]`` must agree on this, or the same line locks differently from each."""
    head = text.split(";")[0]
    return " @ " not in head and (looks_like_path(text) or "://" in head)


def _version(metadata: Metadata, where: str) -> Version:
    try:
        return Version(metadata.version)
    except InvalidVersion:
        raise MetadataError(f"{where}: invalid version {metadata.version!r}") from None


class DirectResolver:
    """Turns one URL or path into a candidate (and its metadata)."""

    def __init__(
        self, http: Http, no_build: bool = False, builds: BuildEnvironments | None = None
    ) -> None:
        self.http = http
        self.no_build = no_build
        self.builds = builds  # where source trees are built (None: never)
        self.metadata: dict[str, Metadata] = {}  # candidate url -> metadata

    def resolve(self, url: str, expected_name: str | None) -> Candidate:
        try:
            urlsplit(url.removeprefix("git+"))
        except ValueError as exc:  # e.g. an unclosed [IPv6 literal
            raise UsageError(f"{redact(url)}: invalid URL ({exc})") from None
        if url.startswith("git+"):
            candidate, metadata = self._git(url)
        else:
            candidate, metadata = self._archive_or_dir(url)
        if expected_name and canonicalize_name(expected_name) != candidate.name:
            raise UsageError(
                f"{expected_name} @ {redact(url)}: the file is the project {metadata.name!r}"
            )
        self.metadata[candidate.url or url] = metadata
        return candidate

    # -- archives and directories ----------------------------------------------------------
    def _archive_or_dir(self, url: str) -> tuple[Candidate, Metadata]:
        parts = urlsplit(url)
        filename = unquote(parts.path.rsplit("/", 1)[-1])
        if parts.scheme == "file":
            from urllib.request import url2pathname  # noqa: PLC0415 - 7 ms; file: references only

            path = Path(url2pathname(unquote(parts.path)))
            if path.is_dir():
                if self.no_build:
                    raise MetadataError(f"{path}: a source directory needs a build; --no-build")
                metadata = build_metadata(path, str(path), self.builds)
                name = canonicalize_name(metadata.name)
                return Candidate(name, _version(metadata, str(path)), (), None, url=url), metadata
            try:
                body: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
            sha256, size = _hash_file(body)
        else:  # streamed to a temporary file and hashed on the way, like any download
            downloaded = self.http.download(url, what=f"file {filename}")
            body, sha256, size = downloaded.file, downloaded.sha256, downloaded.size
        with body:
            return self._archive(url, parts, filename, body, sha256, size)

    def _archive(
        self, url: str, parts: SplitResult, filename: str, body: BinaryIO, sha256: str, size: int
    ) -> tuple[Candidate, Metadata]:
        for item in parts.fragment.split("&"):  # name @ URL#sha256=... : pip checks it, so do we
            if item.startswith("sha256=") and item.removeprefix("sha256=").lower() != sha256:
                raise HashMismatch(
                    f"{redact(url).split('#')[0]}: the file does not match the sha256 in its URL "
                    f"({item.removeprefix('sha256=')[:12]}…); refusing to use it"
                )
        clean = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
        file = DistFile(filename=filename, url=clean, sha256=sha256, size=size)
        if filename.endswith(".whl"):
            try:
                project = filename.split("-")[0]
                body.seek(0)
                metadata = read_wheel_metadata(body, project, redact(url))
            except zipfile.BadZipFile as exc:
                raise MetadataError(f"{redact(url)}: not a valid wheel ({exc})") from None
        elif filename.endswith((".tar.gz", ".zip")):
            raw = sdist_pkg_info(body, filename)
            static = static_pkg_info(raw, redact(url)) if raw else None
            if static is not None:
                metadata = static
            else:
                if self.no_build:
                    raise MetadataError(f"{redact(url)}: needs a PEP 517 build; --no-build")
                with tempfile.TemporaryDirectory(prefix="ftlock-direct-") as tmp:
                    metadata = build_metadata(extract_archive(body, filename, Path(tmp)), filename, self.builds)
        else:
            raise UsageError(f"{redact(url)}: not a wheel, sdist or directory")
        name = canonicalize_name(metadata.name)
        return Candidate(name, _version(metadata, filename), (file,), None, url=clean), metadata

    # -- git -------------------------------------------------------------------------------
    def _git(self, url: str) -> tuple[Candidate, Metadata]:
        git = shutil.which("git")
        if git is None:
            raise UsageError(f"{redact(url)}: git URLs need the git command, which is not installed")
        parts = urlsplit(url.removeprefix("git+"))
        path, _, rev = parts.path.partition("@")
        repo = urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
        subdirectory = None
        for item in parts.fragment.split("&"):
            if item.startswith("subdirectory="):
                subdirectory = item.removeprefix("subdirectory=")
        with tempfile.TemporaryDirectory(prefix="ftlock-git-") as tmp:
            checkout = Path(tmp) / "src"
            self._run([git, "clone", "--quiet", "--filter=blob:none", repo, str(checkout)], url)
            if rev:
                self._run([git, "-C", str(checkout), "checkout", "--quiet", rev], url)
            commit = self._run([git, "-C", str(checkout), "rev-parse", "HEAD"], url).strip()
            source = checkout / subdirectory if subdirectory else checkout
            if self.no_build:
                raise MetadataError(f"{redact(url)}: a git checkout needs a build; --no-build")
            metadata = build_metadata(source, redact(url), self.builds)
        fragment = f"#subdirectory={subdirectory}" if subdirectory else ""
        pinned = f"git+{repo}@{commit}{fragment}"
        name = canonicalize_name(metadata.name)
        return Candidate(name, _version(metadata, url), (), None, url=pinned), metadata

    @staticmethod
    def _run(cmd: list[str], url: str) -> str:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["failed"])[-1]
            raise MetadataError(f"{redact(url)}: git {cmd[1 if cmd[1] != '-C' else 3]}: {last}")
        return result.stdout
