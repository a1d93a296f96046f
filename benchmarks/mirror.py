"""A local, recorded package index for reproducible benchmarks (``run.py --mirror``).

Why: timings against the live index move with the network and with new releases, and the
live index cannot tell us how many requests uv or pip-compile made.  This mirror freezes
the index state a set of solves needs and serves it on 127.0.0.1, logging every request.

What it serves (one store under ``benchmarks/mirror-data/``, gitignored):

* ``/simple/<project>/`` — PEP 691 JSON (or PEP 503 HTML by ``Accept``) with every file of
  the recorded page: hashes, ``requires-python``, ``yanked``, ``upload-time`` and ``size``
  as upstream had them.  Every wheel advertises PEP 658/714 metadata (``core-metadata``
  and the older ``dist-info-metadata``), with its sha256 once recorded, so **all three
  tools read metadata the same way**: one small ``.metadata`` file per wheel, no range
  requests, no whole-wheel downloads.
* ``/files/<sha256>/<filename>.metadata`` — the recorded METADATA.
* ``/files/<sha256>/<filename>`` — a file body only when a tool fetched it while recording
  (sdists to read or build; for pip-compile, every pinned wheel — pip downloads what it
  would install even after reading PEP 658 metadata), streamed, with single-range
  support; otherwise 404.
* ``/<project>/json`` and ``/pypi/<project>/json`` — the legacy JSON API, built from the
  recorded page hashes.  pip-compile's ``--generate-hashes`` asks it first and otherwise
  downloads *every* file of each pinned version (all platforms) to hash it — gigabytes for
  torch — so this is how pip-compile runs in mirror mode without file bodies.
* ``/__bench__/stats`` — request/byte/miss counters (not counted themselves), read by
  ``run.py`` before and after each tool run.

Recording (``mirror.py record --inputs A,B,C,D``) runs the mirror in record mode — a
caching proxy that fetches a missing page, ``.metadata`` (or, failing that, METADATA from
the wheel) or small file body from the live index and stores it — and runs ftlock, uv and
pip-compile cold through it, so the store holds exactly what the three tools touch.  No
URL of the live index is stored: pages keep filenames and hashes, file URLs are made up by
the mirror at serve time.  In replay mode (``serve``) anything not recorded is a 404 and is
counted as a *miss*; ``run.py --mirror`` reports misses so an incomplete recording shows.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import io
import json
import os
import re
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import bootstrap

    bootstrap()

from packaging.utils import (  # noqa: E402
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from benchmarks.common import MIRROR_DATA, default_index_url, redact_hosts  # noqa: E402

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
STATS_PATH = "/__bench__/stats"
BODY_LIMIT = 2048 * 1024 * 1024  # default cap on one recorded file body (bytes)
PAGE_CACHE = "max-age=600, public"  # what the live index sends for project pages
IMMUTABLE = "max-age=31536000, immutable, public"  # files and .metadata never change
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------
# Store
# ---------------------------------------------------------------------------------------
class MirrorStore:
    """The recorded index state on disk, with in-memory caches for serving.

    Layout: ``pages/<project>.json`` (or ``<project>.404``), ``metadata/<file sha256>``,
    ``files/<file sha256>``.  Keyed by the file's sha256, like ftlock's own cache, so a
    file that appears on two pages is stored once.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pages_dir = root / "pages"
        self.metadata_dir = root / "metadata"
        self.files_dir = root / "files"
        for folder in (self.pages_dir, self.metadata_dir, self.files_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._pages: dict[str, dict[str, Any] | None] = {}
        # sha256 of each recorded METADATA, by file sha256: what pages advertise.
        self.metadata_hashes: dict[str, str] = {}
        for path in self.metadata_dir.iterdir():
            if len(path.name) == 64:
                self.metadata_hashes[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()

    # pages -------------------------------------------------------------------------------
    def has_page(self, name: str) -> bool:
        return (self.pages_dir / f"{name}.json").exists() or (self.pages_dir / f"{name}.404").exists()

    def page(self, name: str) -> dict[str, Any] | None:
        """The stored page, or None for a recorded 404.  KeyError when never recorded."""
        with self._lock:
            if name in self._pages:
                return self._pages[name]
        json_path = self.pages_dir / f"{name}.json"
        if json_path.exists():
            data: dict[str, Any] | None = json.loads(json_path.read_text(encoding="utf-8"))
        elif (self.pages_dir / f"{name}.404").exists():
            data = None
        else:
            raise KeyError(name)
        with self._lock:
            self._pages[name] = data
        return data

    def save_page(self, name: str, data: dict[str, Any] | None) -> None:
        if data is None:
            (self.pages_dir / f"{name}.404").write_text("", encoding="utf-8")
        else:
            _write_atomic(self.pages_dir / f"{name}.json", json.dumps(data, sort_keys=True).encode())
        with self._lock:
            self._pages[name] = data

    # metadata and bodies -----------------------------------------------------------------
    def metadata(self, sha: str) -> bytes | None:
        path = self.metadata_dir / sha
        return path.read_bytes() if path.exists() else None

    def save_metadata(self, sha: str, data: bytes) -> None:
        _write_atomic(self.metadata_dir / sha, data)
        with self._lock:
            self.metadata_hashes[sha] = hashlib.sha256(data).hexdigest()

    def body_path(self, sha: str) -> Path | None:
        path = self.files_dir / sha
        return path if path.exists() else None

    def body_temp(self, sha: str) -> Path:
        """Where to stream a body before :meth:`commit_body` renames it into place."""
        return self.files_dir / f".{sha}.{os.getpid()}.{threading.get_ident()}.tmp"

    def commit_body(self, sha: str, temp: Path) -> None:
        os.replace(temp, self.files_dir / sha)

    def summary(self) -> dict[str, int]:
        def size(folder: Path) -> int:
            return sum(p.stat().st_size for p in folder.iterdir())

        return {
            "pages": sum(1 for _ in self.pages_dir.glob("*.json")),
            "pages_not_found": sum(1 for _ in self.pages_dir.glob("*.404")),
            "metadata_files": sum(1 for _ in self.metadata_dir.iterdir()),
            "file_bodies": sum(1 for p in self.files_dir.iterdir() if not p.name.startswith(".")),
            "bytes": size(self.pages_dir) + size(self.metadata_dir) + size(self.files_dir),
        }


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------
# Upstream (record mode only)
# ---------------------------------------------------------------------------------------
class Upstream:
    """Fetches from the live index while recording; remembers file URLs in memory only."""

    def __init__(self, index_url: str, timeout: float = 120.0) -> None:
        import httpx  # noqa: PLC0415 - only needed to record

        cert = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
        verify: Any = True
        if cert and Path(cert).exists():
            import ssl  # noqa: PLC0415

            verify = ssl.create_default_context(cafile=cert)
        self.index_url = index_url.rstrip("/")
        self.client = httpx.Client(
            verify=verify, timeout=timeout, follow_redirects=True, trust_env=True,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
        )
        self.urls: dict[str, str] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def page(self, name: str) -> dict[str, Any] | None:
        """The project's page in stored form (no URLs), or None when upstream has none."""
        response = self.client.get(f"{self.index_url}/{name}/", headers={"Accept": JSON_TYPE})
        if response.status_code in (404, 410):
            return None
        response.raise_for_status()
        if JSON_TYPE not in response.headers.get("content-type", ""):
            raise RuntimeError(f"{name}: the index did not answer with PEP 691 JSON")
        data = response.json()
        files = []
        for entry in data.get("files", []):
            sha = (entry.get("hashes") or {}).get("sha256")
            filename = entry.get("filename")
            if not sha or not filename or not entry.get("url"):
                continue  # unaddressable without a sha256: tools skip such files too
            url = str(response.url.join(entry["url"])).split("#")[0]
            with self._guard:
                self.urls[sha] = url
            stored = {"filename": filename, "sha256": sha}
            for key in ("requires-python", "yanked", "upload-time", "size"):
                if entry.get(key) not in (None, ""):
                    stored[key] = entry[key]
            files.append(stored)
        return {
            "name": canonicalize_name(data.get("name") or name),
            "versions": data.get("versions", []),
            "files": files,
            "recorded": _now(),
        }

    def url_for(self, name: str, sha: str) -> str | None:
        """The live URL of a file; refetches its page if this process has not seen it."""
        with self._guard:
            if sha in self.urls:
                return self.urls[sha]
        self.page(name)
        return self.urls.get(sha)

    def metadata(self, url: str, size: int | None) -> bytes | None:
        """``url.metadata`` if the index has it, else METADATA read out of the wheel with
        HTTP range requests (a few hundred KiB even for a 500 MB torch wheel)."""
        response = self.client.get(url + ".metadata")
        if response.status_code == 200 and response.content:
            return response.content
        if size is None:
            head = self.client.head(url)
            size = int(head.headers.get("content-length", "0")) or None
        source: io.RawIOBase | io.BytesIO
        if size is not None and size > 4 * _RangeFile.BLOCK:
            source = _RangeFile(self.client, url, size)
        else:
            response = self.client.get(url)
            response.raise_for_status()
            source = io.BytesIO(response.content)
        with zipfile.ZipFile(source) as archive:
            members = [
                n for n in archive.namelist()
                if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
            ]
            return archive.read(members[0]) if members else None

    def download(self, url: str, sha: str, target: Path) -> None:
        """Stream ``url`` to ``target``, checking its sha256 (bodies can be 500 MB)."""
        digest = hashlib.sha256()
        with self.client.stream("GET", url) as response, open(target, "wb") as out:
            response.raise_for_status()
            for chunk in response.iter_bytes(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha:
            target.unlink(missing_ok=True)
            raise RuntimeError(f"{url.rsplit('/', 1)[-1]}: body does not match its sha256")


class _RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file that fetches aligned 256 KiB blocks
    with range requests — enough for :mod:`zipfile` to read one member of a huge wheel."""

    BLOCK = 256 * 1024

    def __init__(self, client: Any, url: str, size: int) -> None:
        super().__init__()
        self.client, self.url, self.size, self.pos = client, url, size, 0
        self.blocks: dict[int, bytes] = {}

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def _block(self, index: int) -> bytes:
        if index not in self.blocks:
            start = index * self.BLOCK
            end = min(self.size, start + self.BLOCK) - 1
            response = self.client.get(self.url, headers={"Range": f"bytes={start}-{end}"})
            if response.status_code != 206:
                raise RuntimeError(f"range request answered HTTP {response.status_code}")
            self.blocks[index] = response.content
        return self.blocks[index]

    def read(self, n: int = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        out = bytearray()
        while self.pos < end:
            block = self._block(self.pos // self.BLOCK)
            offset = self.pos % self.BLOCK
            chunk = block[offset: offset + (end - self.pos)]
            if not chunk:
                break
            out += chunk
            self.pos += len(chunk)
        return bytes(out)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------
def file_version(filename: str) -> str | None:
    """Normalised version of a wheel or sdist filename (the key pip-tools looks up)."""
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def file_url(base: str, entry: dict[str, Any]) -> str:
    """The mirror URL of a file; quoted the way pip re-quotes it, so URLs compare equal."""
    return f"{base}/files/{entry['sha256']}/{quote(entry['filename'])}"


def _metadata_value(store: MirrorStore, entry: dict[str, Any]) -> Any:
    if not entry["filename"].endswith(".whl"):
        return None
    known = store.metadata_hashes.get(entry["sha256"])
    return {"sha256": known} if known else True


def render_json(store: MirrorStore, page: dict[str, Any], base: str) -> bytes:
    files = []
    for entry in page["files"]:
        item: dict[str, Any] = {
            "filename": entry["filename"],
            "url": file_url(base, entry),
            "hashes": {"sha256": entry["sha256"]},
        }
        for key in ("requires-python", "yanked", "upload-time", "size"):
            if key in entry:
                item[key] = entry[key]
        item.setdefault("yanked", False)
        meta = _metadata_value(store, entry)
        if meta is not None:
            item["core-metadata"] = meta
            item["dist-info-metadata"] = meta
        files.append(item)
    data = {
        "meta": {"api-version": "1.1"},
        "name": page["name"],
        "versions": page.get("versions", []),
        "files": files,
    }
    return json.dumps(data, separators=(",", ":")).encode()


def render_html(store: MirrorStore, page: dict[str, Any], base: str) -> bytes:
    out = [
        "<!DOCTYPE html><html><head>"
        '<meta name="pypi:repository-version" content="1.1">'
        f"<title>Links for {html.escape(page['name'])}</title></head><body>"
    ]
    for entry in page["files"]:
        attrs = [f'href="{html.escape(file_url(base, entry))}#sha256={entry["sha256"]}"']
        if entry.get("requires-python"):
            attrs.append(f'data-requires-python="{html.escape(entry["requires-python"])}"')
        yanked = entry.get("yanked")
        if yanked:
            attrs.append(f'data-yanked="{html.escape(yanked) if isinstance(yanked, str) else ""}"')
        meta = _metadata_value(store, entry)
        if meta is not None:
            value = f"sha256={meta['sha256']}" if isinstance(meta, dict) else "true"
            attrs.append(f'data-dist-info-metadata="{value}" data-core-metadata="{value}"')
        out.append(f"<a {' '.join(attrs)}>{html.escape(entry['filename'])}</a><br>")
    out.append("</body></html>")
    return "\n".join(out).encode()


def render_legacy_json(page: dict[str, Any], base: str) -> bytes:
    """Just enough of the legacy ``/<project>/json`` API for pip-tools' hash lookup."""
    releases: dict[str, list[dict[str, Any]]] = {}
    for entry in page["files"]:
        version = file_version(entry["filename"])
        if version is None:
            continue
        releases.setdefault(version, []).append({
            "filename": entry["filename"],
            "url": file_url(base, entry),
            "digests": {"sha256": entry["sha256"]},
            "packagetype": "bdist_wheel" if entry["filename"].endswith(".whl") else "sdist",
            "requires_python": entry.get("requires-python"),
            "yanked": bool(entry.get("yanked")),
            "size": entry.get("size"),
        })
    data = {"info": {"name": page["name"]}, "releases": releases, "urls": []}
    return json.dumps(data, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------
class Stats:
    """Thread-safe counters; ``misses`` are 404s for things a tool needed but were not
    recorded (replay) or could not be recorded (record)."""

    def __init__(self, log_path: Path | None) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.bytes = 0
        self.misses = 0
        self.miss_paths: list[str] = []
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115

    def add(self, method: str, path: str, status: int, size: int, agent: str, miss: bool) -> None:
        with self.lock:
            self.requests += 1
            self.bytes += size
            if miss:
                self.misses += 1
                self.miss_paths = (self.miss_paths + [path])[-50:]
            if self.log:
                self.log.write(json.dumps({
                    "t": round(time.time(), 3), "method": method, "path": path,
                    "status": status, "bytes": size, "agent": agent.split(" ")[0][:40],
                }) + "\n")
                self.log.flush()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": self.requests, "bytes": self.bytes, "misses": self.misses,
                    "miss_paths": list(self.miss_paths)}


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up mid-request (a tool that failed, or finished) is not an error.

    The listen backlog is raised from socketserver's 5: ftlock and uv open 16+ connections
    at once, and SYNs dropped from a full backlog are retried by the kernel after 1, 3,
    7... seconds — a stall that would be charged to the tool.
    """

    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class MirrorServer:
    """The HTTP server; record mode when given an :class:`Upstream`."""

    def __init__(
        self,
        store: MirrorStore,
        upstream: Upstream | None = None,
        port: int = 0,
        log_path: Path | None = None,
        body_limit: int = BODY_LIMIT,
    ) -> None:
        self.store = store
        self.upstream = upstream
        self.body_limit = body_limit
        self.stats = Stats(log_path)
        self._rendered: dict[tuple[str, str, str], tuple[bytes, str]] = {}
        self._rendered_lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"mirror": self})
        self.httpd = _QuietServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def index_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple"

    def start(self) -> MirrorServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # lookups used by the handler -----------------------------------------------------------
    def page(self, name: str) -> dict[str, Any] | None:
        """The page of ``name``; in record mode fetched and stored on first use."""
        try:
            return self.store.page(name)
        except KeyError:
            if self.upstream is None:
                raise
        with self.upstream.lock_for(f"page:{name}"):
            if not self.store.has_page(name):
                self.store.save_page(name, self.upstream.page(name))
                with self._rendered_lock:
                    self._rendered = {k: v for k, v in self._rendered.items() if k[0] != name}
        return self.store.page(name)

    def rendered(self, name: str, kind: str, base: str) -> tuple[bytes, str] | None:
        """Page bytes, cached per (project, format, host) — torch's page is megabytes."""
        key = (name, kind, base)
        with self._rendered_lock:
            if key in self._rendered:
                return self._rendered[key]
        page = self.page(name)
        if page is None:
            return None
        if kind == "json":
            result = (render_json(self.store, page, base), JSON_TYPE)
        elif kind == "html":
            result = (render_html(self.store, page, base), f"{HTML_TYPE}; charset=utf-8")
        else:
            result = (render_legacy_json(page, base), "application/json")
        if kind != "legacy" and self.upstream is not None:
            return result  # record mode: metadata hashes still change, do not cache
        with self._rendered_lock:
            self._rendered[key] = result
        return result

    def metadata(self, sha: str, filename: str) -> bytes | None:
        found = self.store.metadata(sha)
        if found is not None or self.upstream is None or not filename.endswith(".whl"):
            return found
        with self.upstream.lock_for(f"meta:{sha}"):
            found = self.store.metadata(sha)
            if found is None:
                name = _project_of(filename)
                url = self.upstream.url_for(name, sha) if name else None
                if url is None:
                    return None
                found = self.upstream.metadata(url, _size_of(self.store, name, sha))
                if found is not None:
                    self.store.save_metadata(sha, found)
        return found

    def body(self, sha: str, filename: str) -> Path | None:
        found = self.store.body_path(sha)
        if found is not None or self.upstream is None:
            return found
        name = _project_of(filename)
        if not name:
            return None
        size = _size_of(self.store, name, sha)
        if size is not None and size > self.body_limit:
            return None
        with self.upstream.lock_for(f"body:{sha}"):
            if self.store.body_path(sha) is None:
                url = self.upstream.url_for(name, sha)
                if url is None:
                    return None
                temp = self.store.body_temp(sha)
                self.upstream.download(url, sha, temp)
                self.store.commit_body(sha, temp)
        return self.store.body_path(sha)


def _project_of(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return canonicalize_name(parse_wheel_filename(filename)[0])
        return canonicalize_name(parse_sdist_filename(filename)[0])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def _size_of(store: MirrorStore, name: str | None, sha: str) -> int | None:
    if not name:
        return None
    try:
        page = store.page(name)
    except KeyError:
        return None
    for entry in (page or {}).get("files", []):
        if entry["sha256"] == sha:
            size = entry.get("size")
            return size if isinstance(size, int) else None
    return None


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range as inclusive (start, end); None when unsatisfiable."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    if not match.group(1):
        length = int(match.group(2))
        return (max(0, size - length), size - 1) if length and size else None
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else size - 1
    if start >= size:
        return None
    return start, min(end, size - 1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm on, the second waits
    # for the client's delayed ACK of the first (40 ms on Linux) on every keep-alive
    # request, which made the mirror a model of a stall rather than of the tools' work.
    disable_nagle_algorithm = True
    mirror: MirrorServer
    server_version = "ftlock-bench-mirror"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass  # the JSONL request log replaces stderr noise

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
        self._serve(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    # -----------------------------------------------------------------------------------
    def _serve(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if path == STATS_PATH:
            self._send(200, json.dumps(self.mirror.stats.snapshot()).encode(), "application/json",
                       head, count=False)
            return
        try:
            self._route(path, head)
        except ConnectionError:  # the client went away (a tool exiting early): nothing to say
            pass
        except Exception as exc:  # noqa: BLE001 - answer 502 like a proxy would
            message = redact_hosts(f"{type(exc).__name__}: {exc}")
            sys.stderr.write(f"mirror: {path}: {message}\n")
            try:
                self._send(502, message.encode(), "text/plain", head, miss=True)
            except ConnectionError:
                pass

    def _route(self, path: str, head: bool) -> None:
        base = f"http://{self.headers.get('Host') or f'127.0.0.1:{self.mirror.port}'}"
        parts = [p for p in path.split("/") if p]
        if parts == ["simple"]:
            names = sorted(p.stem for p in self.mirror.store.pages_dir.glob("*.json"))
            body = json.dumps({"meta": {"api-version": "1.1"},
                               "projects": [{"name": n} for n in names]}).encode()
            self._send(200, body, JSON_TYPE, head)
            return
        if len(parts) == 2 and parts[0] == "simple" and _NAME.match(parts[1]):
            kind = "json" if JSON_TYPE in (self.headers.get("Accept") or "") else "html"
            self._page(canonicalize_name(parts[1]), kind, base, head)
            return
        if (len(parts) == 2 and parts[1] == "json" and _NAME.match(parts[0])) or (
            len(parts) == 3 and parts[0] == "pypi" and parts[2] == "json" and _NAME.match(parts[1])
        ):
            self._page(canonicalize_name(parts[-2]), "legacy", base, head)
            return
        if len(parts) == 3 and parts[0] == "files" and len(parts[1]) == 64:
            sha, filename = parts[1], parts[2]
            if filename.endswith(".metadata"):
                data = self.mirror.metadata(sha, filename.removesuffix(".metadata"))
                if data is None:
                    self._send(404, b"metadata not recorded", "text/plain", head, miss=True)
                else:
                    self._send(200, data, "text/plain; charset=utf-8", head, etag=sha,
                               extra={"Cache-Control": IMMUTABLE})
                return
            found = self.mirror.body(sha, filename)
            if found is None:
                self._send(404, b"file body not recorded", "text/plain", head, miss=True)
                return
            self._file(found, sha, head)
            return
        self._send(404, b"not found", "text/plain", head)

    def _page(self, name: str, kind: str, base: str, head: bool) -> None:
        try:
            found = self.mirror.rendered(name, kind, base)
        except KeyError:
            self._send(404, b"project not recorded", "text/plain", head, miss=True)
            return
        if found is None:
            self._send(404, b"no such project", "text/plain", head)
            return
        body, content_type = found
        self._send(200, body, content_type, head, etag=hashlib.sha1(body).hexdigest())

    def _file(self, path: Path, sha: str, head: bool) -> None:
        """Stream a recorded body (or one range of it) without loading it into memory.

        Files are immutable (named by their hash), and say so like a real index's file
        host does, so pip's HTTP cache keeps them and a WARM pip-compile is a warm run.
        """
        size = path.stat().st_size
        status, start, end = 200, 0, size - 1
        extra = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream",
                 "ETag": f'"{sha}"', "Cache-Control": IMMUTABLE}
        if self.headers.get("If-None-Match") == f'"{sha}"' and not self.headers.get("Range"):
            self._send(304, b"", "application/octet-stream", head, extra={"ETag": f'"{sha}"'})
            return
        wanted = self.headers.get("Range")
        if wanted:
            span = _parse_range(wanted, size)
            if span is None:
                self._send(416, b"", "text/plain", head, extra={"Content-Range": f"bytes */{size}"})
                return
            status, (start, end) = 206, span
            extra["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(0, end - start + 1)
        self.send_response(status)
        for key, value in extra.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        sent = 0
        if not head:
            with open(path, "rb") as handle:
                handle.seek(start)
                while sent < length:
                    chunk = handle.read(min(1 << 20, length - sent))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    sent += len(chunk)
        self.mirror.stats.add(self.command, self.path, status, sent,
                              self.headers.get("User-Agent") or "", False)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        head: bool,
        etag: str | None = None,
        extra: dict[str, str] | None = None,
        count: bool = True,
        miss: bool = False,
    ) -> None:
        quoted = f'"{etag}"' if etag else None
        if quoted and status == 200 and self.headers.get("If-None-Match") == quoted:
            status, body = 304, b""
        headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
        if quoted:
            headers["ETag"] = quoted
            headers["Cache-Control"] = PAGE_CACHE
        headers.update(extra or {})
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        sent = 0 if head else len(body)
        if not head and body:
            self.wfile.write(body)
        if count:
            self.mirror.stats.add(self.command, self.path, status, sent,
                                  self.headers.get("User-Agent") or "", miss)


# ---------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------
def fetch_stats(index_url: str) -> dict[str, Any]:
    """Counters of a running mirror (``index_url`` is its ``/simple`` URL)."""
    import urllib.request  # noqa: PLC0415

    root = index_url.rsplit("/simple", 1)[0]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(root + STATS_PATH, timeout=10) as response:
        return dict(json.loads(response.read()))


def record(
    keys: list[str], tools: list[str], data: Path, timeout: float, body_limit: int = BODY_LIMIT
) -> int:
    """Run each tool cold through a recording mirror, for each input; print a summary.

    E (ftlock's ``--gpu/--model`` stack) records ftlock first and then uv on the inputs
    ftlock's lock names — what ``run.py`` will ask of the mirror for E.
    """
    import tempfile  # noqa: PLC0415

    from benchmarks.common import tool_env  # noqa: PLC0415
    from benchmarks.inputs import INPUTS, ftlock_has_option  # noqa: PLC0415
    from benchmarks.locks import lock_inputs  # noqa: PLC0415
    from benchmarks.measure import run_measured  # noqa: PLC0415
    from benchmarks.tools import (  # noqa: PLC0415
        ftlock_base,
        ftlock_cmd,
        pip_compile_cmd,
        python311,
        uv_cmd,
    )

    store = MirrorStore(data)
    server = MirrorServer(
        store, Upstream(default_index_url()), log_path=data / "record.log", body_limit=body_limit
    ).start()
    python = python311()
    failures = 0
    recorded: list[str] = []
    try:
        for key in keys:
            spec = INPUTS[key]
            if spec.needs_option and not ftlock_has_option(ftlock_base(), spec.needs_option):
                print(f"{key}: ftlock solve has no {spec.needs_option} yet, skipped")
                continue
            recorded.append(key)
            with tempfile.TemporaryDirectory(prefix=f"ftlock-rec-{key}-") as tmp:
                work = Path(tmp)
                req_in = spec.write_in(work / "requirements.in")
                order = [t for t in ("ftlock", "uv", "pip-compile") if t in tools]
                if spec.ftlock_args:
                    order = [t for t in order if t != "pip-compile"]
                for tool in order:
                    out, cache = work / f"{tool}.txt", work / f"cache-{tool}"
                    if tool == "ftlock":
                        inv = ftlock_cmd(req_in, out, cache, server.index_url, spec.ftlock_args)
                    elif tool == "uv":
                        tool_in = req_in
                        if spec.ftlock_args:
                            if not (work / "ftlock.txt").exists():
                                continue
                            tool_in = work / "requirements-uv.in"
                            names = lock_inputs((work / "ftlock.txt").read_text(encoding="utf-8"))
                            tool_in.write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
                        inv = uv_cmd(tool_in, out, cache, server.index_url)
                    elif python is not None:
                        inv = pip_compile_cmd(python, req_in, out, cache, server.index_url)
                    else:
                        print(f"{key} {tool}: no Python 3.11 with pip-tools, skipped")
                        continue
                    before = server.stats.snapshot()
                    env = tool_env(server.index_url, inv.extra_env)
                    result = run_measured(inv.cmd, work, env, timeout)
                    after = server.stats.snapshot()
                    status = "ok" if result.ok else (
                        "timed out" if result.timed_out else f"exit {result.returncode}"
                    )
                    failures += not result.ok
                    print(
                        f"{key} {tool:11s} {status:9s} {result.wall_s:7.1f}s "
                        f"{after['requests'] - before['requests']:5d} requests "
                        f"{(after['bytes'] - before['bytes']) / 1e6:8.1f} MB  "
                        f"{after['misses'] - before['misses']} not recordable",
                        flush=True,
                    )
                    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
                    if not result.ok and lines:
                        print(f"    {redact_hosts(lines[-1])}")
    finally:
        server.stop()
    summary = store.summary()
    manifest_path = data / "RECORDED.json"
    earlier: list[str] = []
    if manifest_path.exists():
        earlier = json.loads(manifest_path.read_text(encoding="utf-8")).get("inputs", [])
    manifest = {
        "recorded": _now(),
        "inputs": sorted(set(earlier) | set(recorded)),
        "tools": tools,
        **summary,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"store {data}: {summary['pages']} pages, {summary['metadata_files']} metadata files, "
          f"{summary['file_bodies']} file bodies, {summary['bytes'] / 1e6:.1f} MB")
    return 1 if failures else 0


def _iter_log(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="record what the tools need for some inputs")
    rec.add_argument("--inputs", default="A,B,C,D")
    rec.add_argument("--tools", default="ftlock,uv,pip-compile")
    rec.add_argument("--data", type=Path, default=MIRROR_DATA)
    rec.add_argument("--timeout", type=float, default=1800.0, help="seconds per tool run")
    rec.add_argument("--body-limit-mb", type=float, default=BODY_LIMIT / 2**20,
                     help="largest file body to record (pip-compile downloads every pinned "
                          "wheel; 0 records metadata only)")
    srv = sub.add_parser("serve", help="serve the recorded store (replay: misses are 404)")
    srv.add_argument("--data", type=Path, default=MIRROR_DATA)
    srv.add_argument("--port", type=int, default=0)
    srv.add_argument("--log", type=Path, default=None, help="JSONL request log")
    srv.add_argument("--ready-file", type=Path, default=None,
                     help="write the index URL here once listening")
    srv.add_argument("--record", action="store_true",
                     help="fetch what is missing from the live index (caching proxy)")
    log = sub.add_parser("summarize-log", help="requests and bytes per path kind of a log")
    log.add_argument("log", type=Path)
    args = parser.parse_args(argv)

    if args.command == "record":
        from benchmarks.inputs import parse_keys  # noqa: PLC0415

        tools = [t.strip() for t in args.tools.split(",") if t.strip()]
        return record(parse_keys(args.inputs), tools, args.data, args.timeout,
                      int(args.body_limit_mb * 2**20))
    if args.command == "serve":
        if not (args.data / "pages").exists() and not args.record:
            print(f"no recorded mirror at {args.data}: run `mirror.py record` first", file=sys.stderr)
            return 2
        upstream = Upstream(default_index_url()) if args.record else None
        server = MirrorServer(MirrorStore(args.data), upstream, args.port, args.log).start()
        if args.ready_file:
            args.ready_file.write_text(server.index_url, encoding="utf-8")
        print(f"serving {args.data} at {server.index_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            server.stop()
        return 0
    kinds: dict[tuple[str, str], list[int]] = {}
    for row in _iter_log(args.log):
        path = row["path"]
        kind = ("metadata" if path.endswith(".metadata") else "file" if "/files/" in path
                else "legacy-json" if path.endswith("/json") else "page")
        agent = row.get("agent", "?").split("/")[0]
        counts = kinds.setdefault((agent, kind), [0, 0, 0])
        counts[0] += 1
        counts[1] += int(row["bytes"])
        counts[2] += row["status"] == 304
    print("client       kind         requests       MB   304s")
    for (agent, kind), (n, size, not_modified) in sorted(kinds.items()):
        print(f"{agent:12s} {kind:12s} {n:8d} {size / 1e6:8.1f} {not_modified:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
