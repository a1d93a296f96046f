"""A local "simple" package index for tests, served on 127.0.0.1.

Tests must never reach a public registry, yet the resolver has to be tested
against realistic index behaviour: PEP 503 HTML, PEP 691 JSON with content
negotiation, PEP 658 metadata files, PEP 592 yanking, relative file URLs,
301 redirects for non-normalized project names, and HTTP range requests.
:class:`LocalIndex` provides all of that from an in-process
``ThreadingHTTPServer`` on a random free port, and logs every request so tests
can assert *how* the index was used (e.g. "the second run made no request",
"only the tail of the wheel was fetched").

Typical use::

    with LocalIndex(pep658=True) as index:
        index.add(build_wheel(tmp, "demo", "1.0"))
        resolve(index_url=index.url)
        assert index.count(prefix="/files/") == 0
"""

from __future__ import annotations

import hashlib
import html
import json as _json
import re
import tarfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from .dists import read_wheel_metadata
from .serving import LocalServer

class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-response (ftlock cancelling prefetches at the end of a
    solve) is normal here; socketserver would print a traceback to stderr for it, which
    would land in the CLI output under test."""

    daemon_threads = True

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


__all__ = ["IndexedFile", "LocalIndex", "RequestRecord", "JSON_CONTENT_TYPE", "HTML_CONTENT_TYPE"]

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_CONTENT_TYPE = "application/vnd.pypi.simple.v1+html"
_JSON_LATEST = "application/vnd.pypi.simple.latest+json"
_HTML_LATEST = "application/vnd.pypi.simple.latest+html"
API_VERSION = "1.1"

#: (method, path, Range header or None).  ``path`` is the raw request path
#: without query string, e.g. ``/simple/demo/`` or ``/files/demo-1.0.tar.gz``.
RequestRecord = tuple[str, str, "str | None"]

_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


@dataclass(frozen=True)
class IndexedFile:
    """One distribution file registered with a :class:`LocalIndex`."""

    filename: str
    project: NormalizedName
    version: Version
    data: bytes
    sha256: str
    upload_time: str | None
    yanked: bool | str
    requires_python: str | None
    #: Per-file PEP 658 override; ``None`` follows ``LocalIndex.pep658``.
    pep658: bool | None
    #: Core metadata that ``<file>.metadata`` would serve (wheel METADATA, or
    #: sdist PKG-INFO); ``None`` when it could not be extracted.
    metadata: bytes | None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def metadata_sha256(self) -> str | None:
        return hashlib.sha256(self.metadata).hexdigest() if self.metadata is not None else None


def _parse_filename(filename: str) -> tuple[NormalizedName, Version]:
    if filename.endswith(".whl"):
        name, version, _build, _tags = parse_wheel_filename(filename)
        return name, version
    name, version = parse_sdist_filename(filename)
    return name, version


def _sdist_pkg_info(path: Path) -> bytes | None:
    """Top-level ``PKG-INFO`` of a ``.tar.gz`` sdist, if present."""
    if not path.name.endswith(".tar.gz"):
        return None
    with tarfile.open(path, "r:gz") as tf:
        for member in tf.getmembers():
            if member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                fh = tf.extractfile(member)
                return fh.read() if fh is not None else None
    return None


def _negotiate(accept: str | None, allow_json: bool) -> str:
    """Pick the response content type per PEP 691 content negotiation.

    Honours ``q`` values and falls back to HTML for anything unsupported, as
    PEP 691 allows.  ``allow_json=False`` models a legacy (pre-PEP 691)
    HTML-only index, which knows no versioned media types and always answers
    plain ``text/html``.
    """
    if not accept or not allow_json:
        return "text/html"
    candidates: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept.split(",")):
        parts = [p.strip() for p in item.split(";")]
        media = parts[0].lower()
        q = 1.0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            candidates.append((-q, position, media))
    for _q, _pos, media in sorted(candidates):
        if media in (JSON_CONTENT_TYPE, _JSON_LATEST):
            return JSON_CONTENT_TYPE
        elif media in (HTML_CONTENT_TYPE, _HTML_LATEST):
            return HTML_CONTENT_TYPE
        elif media in ("text/html", "text/*", "*/*"):
            return "text/html"
    return "text/html"


class LocalIndex(LocalServer):
    """An in-process PEP 503/691 index on ``127.0.0.1`` with a random port.

    Options are plain attributes and may be flipped while running:

    * ``json`` -- serve PEP 691 JSON when asked for it (else HTML only).
    * ``pep658`` -- default for advertising/serving ``<file>.metadata`` for
      wheels (per-file override via ``add(pep658=...)``).
    * ``ranges`` -- honour ``Range`` headers with 206; when ``False`` ranges
      are ignored and the full body comes back with 200, like some mirrors.
    * ``etag`` -- send ``ETag`` and answer ``If-None-Match`` with 304.
    * ``errors`` -- ``{path: status}`` to force a failure for a given path.
    """

    def __init__(
        self,
        *,
        json: bool = True,
        pep658: bool = False,
        ranges: bool = True,
        etag: bool = True,
    ) -> None:
        self.json = json
        self.pep658 = pep658
        self.ranges = ranges
        self.etag = etag
        self.errors: dict[str, int] = {}
        self.requests: list[RequestRecord] = []
        self._files: dict[str, IndexedFile] = {}
        self._lock = threading.Lock()

    server_class = _QuietServer

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return type("_BoundHandler", (_Handler,), {"index": self})

    def file_url(self, filename: str) -> str:
        """Absolute URL of a registered file (what relative links resolve to)."""
        return f"{self.base_url}/files/{quote(filename)}"

    # ------------------------------------------------------------- registry

    def add(
        self,
        path: Path,
        *,
        upload_time: str | None = "2024-01-01T00:00:00Z",
        yanked: bool | str = False,
        requires_python: str | None = None,
        pep658: bool | None = None,
    ) -> IndexedFile:
        """Register a wheel or sdist under its (canonicalized) project.

        The file's bytes are read now, so the source may be deleted later.
        ``requires_python`` is what the *index* advertises (``None``: nothing),
        independently of the file's own metadata -- real indexes can disagree
        with the file, and resolvers must cope.  ``yanked`` is ``True`` or a
        reason string (PEP 592).  Re-adding a filename replaces it.
        """
        path = Path(path)
        try:
            project, version = _parse_filename(path.name)
        except (InvalidWheelFilename, InvalidSdistFilename) as exc:
            raise ValueError(f"not a distribution filename: {path.name}") from exc
        data = path.read_bytes()
        metadata = read_wheel_metadata(path) if path.name.endswith(".whl") else _sdist_pkg_info(path)
        entry = IndexedFile(
            filename=path.name,
            project=canonicalize_name(project),
            version=version,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            upload_time=upload_time,
            yanked=yanked,
            requires_python=requires_python,
            pep658=pep658,
            metadata=metadata,
        )
        with self._lock:
            self._files[entry.filename] = entry
        return entry

    def remove(self, filename: str) -> None:
        """Unregister a file (e.g. to simulate an index that changed)."""
        with self._lock:
            del self._files[filename]

    @property
    def files(self) -> list[IndexedFile]:
        with self._lock:
            return sorted(self._files.values(), key=lambda f: f.filename)

    @property
    def projects(self) -> list[NormalizedName]:
        return sorted({f.project for f in self.files})

    def project_files(self, project: str) -> list[IndexedFile]:
        name = canonicalize_name(project)
        return sorted(
            (f for f in self.files if f.project == name),
            key=lambda f: (f.version, f.filename),
        )

    def get_file(self, filename: str) -> IndexedFile | None:
        with self._lock:
            return self._files.get(filename)

    def serves_metadata(self, entry: IndexedFile) -> bool:
        """Whether PEP 658 metadata is advertised/served for ``entry``.

        The index-wide default applies to wheels only (as on real indexes);
        sdists get a ``.metadata`` file only with an explicit ``pep658=True``.
        """
        if entry.metadata is None:
            return False
        if entry.pep658 is not None:
            return entry.pep658
        return self.pep658 and entry.is_wheel

    # ---------------------------------------------------------- request log

    def _log(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def count(
        self, path: str | None = None, *, prefix: str | None = None, method: str | None = None
    ) -> int:
        """Number of logged requests, optionally filtered.

        ``count()`` is every request; ``count("/simple/demo/")`` an exact
        path; ``count(prefix="/files/")`` all file downloads.
        """
        with self._lock:
            records = list(self.requests)
        return sum(
            1
            for m, p, _r in records
            if (path is None or p == path)
            and (prefix is None or p.startswith(prefix))
            and (method is None or m == method)
        )

    def counts(self) -> Counter[str]:
        """Requests per path, for quick ``assert index.counts() == {...}``."""
        with self._lock:
            return Counter(p for _m, p, _r in self.requests)

    @contextmanager
    def assert_no_requests(self) -> Iterator[None]:
        """Fail if the body makes any HTTP request (e.g. a warm-cache run)."""
        before = self.count()
        yield
        with self._lock:
            extra = self.requests[before:]
        assert not extra, f"expected no index requests, got {extra}"

    # ------------------------------------------------------------ rendering

    def _metadata_attr(self, entry: IndexedFile) -> str | None:
        return f"sha256={entry.metadata_sha256}" if self.serves_metadata(entry) else None

    def render_project_json(self, project: NormalizedName) -> bytes:
        """PEP 691 (API 1.1) project page; file URLs are relative on purpose."""
        files = self.project_files(project)
        versions = sorted({f.version for f in files})
        files_out: list[dict[str, object]] = []
        for entry in files:
            meta: dict[str, str] | bool = (
                {"sha256": entry.metadata_sha256 or ""} if self.serves_metadata(entry) else False
            )
            item: dict[str, object] = {
                "filename": entry.filename,
                "url": f"../../files/{quote(entry.filename)}",
                "hashes": {"sha256": entry.sha256},
                "requires-python": entry.requires_python,
                "yanked": entry.yanked,
                "size": entry.size,
                "core-metadata": meta,
                "dist-info-metadata": meta,
            }
            if entry.upload_time is not None:
                item["upload-time"] = entry.upload_time
            files_out.append(item)
        payload = {
            "meta": {"api-version": API_VERSION},
            "name": project,
            "versions": [str(v) for v in versions],
            "files": files_out,
        }
        return _json.dumps(payload, indent=2).encode()

    def render_project_html(self, project: NormalizedName) -> bytes:
        """PEP 503 project page with PEP 592/658 data attributes."""
        lines = [
            "<!DOCTYPE html>",
            "<html>",
            "  <head>",
            f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
            f"    <title>Links for {html.escape(project)}</title>",
            "  </head>",
            "  <body>",
            f"    <h1>Links for {html.escape(project)}</h1>",
        ]
        for entry in self.project_files(project):
            href = f"../../files/{quote(entry.filename)}#sha256={entry.sha256}"
            attrs = [f'href="{html.escape(href)}"']
            if entry.requires_python is not None:
                attrs.append(f'data-requires-python="{html.escape(entry.requires_python)}"')
            if entry.yanked is not False:
                reason = "" if entry.yanked is True else str(entry.yanked)
                attrs.append(f'data-yanked="{html.escape(reason)}"')
            meta = self._metadata_attr(entry)
            if meta is not None:
                attrs.append(f'data-core-metadata="{meta}"')
                attrs.append(f'data-dist-info-metadata="{meta}"')
            lines.append(f"    <a {' '.join(attrs)}>{html.escape(entry.filename)}</a><br/>")
        lines += ["  </body>", "</html>", ""]
        return "\n".join(lines).encode()

    def render_root_json(self) -> bytes:
        payload = {
            "meta": {"api-version": API_VERSION},
            "projects": [{"name": p} for p in self.projects],
        }
        return _json.dumps(payload, indent=2).encode()

    def render_root_html(self) -> bytes:
        lines = [
            "<!DOCTYPE html>",
            "<html>",
            "  <head>",
            f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
            "    <title>Simple index</title>",
            "  </head>",
            "  <body>",
        ]
        lines += [f'    <a href="{html.escape(p)}/">{html.escape(p)}</a><br/>' for p in self.projects]
        lines += ["  </body>", "</html>", ""]
        return "\n".join(lines).encode()

    # ---------------------------------------------------------- static tree

    def write_static(self, root: Path) -> str:
        """Write the index as a static tree and return its ``file://`` URL.

        Layout: ``root/simple/index.html``, ``root/simple/<name>/index.html``
        (HTML only -- a file tree cannot negotiate content types),
        ``root/files/<file>`` and, where PEP 658 applies,
        ``root/files/<file>.metadata``.  Links are the same relative
        ``../../files/...`` URLs as over HTTP.  The server need not be running.
        """
        root = Path(root)
        simple = root / "simple"
        files_dir = root / "files"
        simple.mkdir(parents=True, exist_ok=True)
        files_dir.mkdir(parents=True, exist_ok=True)
        (simple / "index.html").write_bytes(self.render_root_html())
        for project in self.projects:
            (simple / project).mkdir(exist_ok=True)
            (simple / project / "index.html").write_bytes(self.render_project_html(project))
        for entry in self.files:
            (files_dir / entry.filename).write_bytes(entry.data)
            if self.serves_metadata(entry) and entry.metadata is not None:
                (files_dir / f"{entry.filename}.metadata").write_bytes(entry.metadata)
        return simple.resolve().as_uri()


class _Handler(BaseHTTPRequestHandler):
    """Request handler; ``index`` is bound per server by ``LocalIndex.start``."""

    index: LocalIndex
    protocol_version = "HTTP/1.1"  # keep-alive, like real indexes
    server_version = "ftlock-test-index/1.0"
    timeout = 30  # reap idle keep-alive connections
    # Headers and body go out in separate writes; with Nagle on, the body waits for the
    # client's delayed ACK (~40 ms per request on Linux loopback).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Silence per-request stderr noise; the request log is the record."""

    def do_GET(self) -> None:
        self._handle(send_body=True)

    def do_HEAD(self) -> None:
        self._handle(send_body=False)

    # ------------------------------------------------------------- plumbing

    def _send(
        self,
        status: int,
        body: bytes = b"",
        *,
        content_type: str = "text/plain; charset=utf-8",
        headers: dict[str, str] | None = None,
        send_body: bool = True,
    ) -> None:
        self.send_response(status)
        self.send_header("Date", formatdate(usegmt=True))
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if send_body and status != HTTPStatus.NOT_MODIFIED:
            self.wfile.write(body)

    def _not_found(self, send_body: bool) -> None:
        self._send(HTTPStatus.NOT_FOUND, b"Not Found\n", send_body=send_body)

    def _redirect(self, location: str, send_body: bool) -> None:
        self._send(
            HTTPStatus.MOVED_PERMANENTLY,
            b"",
            headers={"Location": f"{self.index.base_url}{location}"},
            send_body=send_body,
        )

    def _etag_headers(self, body: bytes) -> tuple[dict[str, str], bool]:
        """ETag header for ``body`` and whether the client's copy is current."""
        if not self.index.etag:
            return {}, False
        tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        inm = self.headers.get("If-None-Match")
        fresh = inm is not None and (inm.strip() == "*" or tag in [t.strip() for t in inm.split(",")])
        return {"ETag": tag}, fresh

    def _handle(self, *, send_body: bool) -> None:
        path = urlsplit(self.path).path
        self.index._log((self.command, path, self.headers.get("Range")))
        forced = self.index.errors.get(path)
        if forced is not None:
            self._send(forced, f"forced error {forced}\n".encode(), send_body=send_body)
            return
        if path in ("/simple", "/simple/"):
            if path == "/simple":
                self._redirect("/simple/", send_body)
                return
            self._page(None, send_body)
        elif path.startswith("/simple/"):
            name = unquote(path[len("/simple/") :])
            if not name.endswith("/"):
                self._redirect(f"/simple/{quote(canonicalize_name(name))}/", send_body)
                return
            name = name[:-1]
            if "/" in name:
                self._not_found(send_body)
                return
            canonical = canonicalize_name(name)
            if canonical not in self.index.projects:
                self._not_found(send_body)
            elif name != canonical:
                self._redirect(f"/simple/{quote(canonical)}/", send_body)
            else:
                self._page(canonical, send_body)
        elif path.startswith("/files/"):
            self._file(unquote(path[len("/files/") :]), send_body)
        else:
            self._not_found(send_body)

    def _page(self, project: NormalizedName | None, send_body: bool) -> None:
        ctype = _negotiate(self.headers.get("Accept"), self.index.json)
        if ctype == JSON_CONTENT_TYPE:
            body = self.index.render_root_json() if project is None else self.index.render_project_json(project)
        else:
            body = self.index.render_root_html() if project is None else self.index.render_project_html(project)
            if ctype == "text/html":
                ctype = "text/html; charset=utf-8"
        headers, fresh = self._etag_headers(body)
        headers["Vary"] = "Accept, Accept-Encoding"
        if fresh:
            self._send(HTTPStatus.NOT_MODIFIED, headers=headers, send_body=send_body)
        else:
            self._send(HTTPStatus.OK, body, content_type=ctype, headers=headers, send_body=send_body)

    def _file(self, filename: str, send_body: bool) -> None:
        content_type = "application/octet-stream"
        entry = self.index.get_file(filename)
        if entry is not None:
            body = entry.data
        elif filename.endswith(".metadata"):
            dist = self.index.get_file(filename[: -len(".metadata")])
            if dist is None or dist.metadata is None or not self.index.serves_metadata(dist):
                self._not_found(send_body)
                return
            body = dist.metadata
            content_type = "text/plain; charset=utf-8"
        else:
            self._not_found(send_body)
            return

        headers, fresh = self._etag_headers(body)
        if fresh:
            self._send(HTTPStatus.NOT_MODIFIED, headers=headers, send_body=send_body)
            return
        range_header = self.headers.get("Range")
        if not self.index.ranges:
            self._send(HTTPStatus.OK, body, content_type=content_type, headers=headers, send_body=send_body)
            return
        headers["Accept-Ranges"] = "bytes"
        span = _parse_range(range_header, len(body)) if range_header else None
        if span is None:
            # No Range, or a form we do not support (multi-range): full body,
            # which RFC 9110 permits.
            self._send(HTTPStatus.OK, body, content_type=content_type, headers=headers, send_body=send_body)
        elif span == "unsatisfiable":
            headers["Content-Range"] = f"bytes */{len(body)}"
            self._send(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", headers=headers, send_body=send_body)
        else:
            start, end = span
            headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
            self._send(
                HTTPStatus.PARTIAL_CONTENT,
                body[start : end + 1],
                content_type=content_type,
                headers=headers,
                send_body=send_body,
            )


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """Parse a single ``bytes=`` range into inclusive ``(start, end)``.

    Returns ``None`` when the header should be ignored (malformed or
    multi-range) and ``"unsatisfiable"`` for a 416.
    """
    match = _RANGE_RE.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix: bytes=-n
        n = int(last)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        return None  # invalid range spec: ignore per RFC 9110
    if start >= size:
        return "unsatisfiable"
    return start, end
