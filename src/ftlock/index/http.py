"""One HTTP session for a solve: TLS trust and proxies as pip would use them, bounded
retries with back-off for transient failures, and ``file://`` URLs read from disk.

Everything above this module sees :class:`Fetched` values and ftlock errors, never
transport exceptions, so messages stay one line and never leak credentials.

Requests go to ftlock's own HTTP/1.1 connections (:mod:`ftlock.index.connections`), or
through httpcore's proxy pools where the environment names a proxy
(:mod:`ftlock.index.proxied`).  They went through ``httpx.Client``, then httpcore's pools,
until each cost showed: on a cold solve (150-400 requests, CPU-bound on small machines)
httpx's request and response objects cost about 0.25 ms of CPU per request, httpcore
and h11 about 0.4 ms more, and their imports 30 ms.  What httpx added is kept, rule by
rule, in :mod:`ftlock.index.wire` (URL normalization, proxies from the environment, gzip
and deflate, cookies) and here (redirects, Basic auth, timeouts, connection limits).

What counts as transient (retried ``retries`` times, waiting ``backoff`` seconds, doubling,
with a little jitter; ``Retry-After`` is honoured up to :data:`MAX_RETRY_AFTER`):

* statuses 429, 500, 502, 503, 504;
* every transport failure: connection refused or reset, timeouts, a body cut short
  (``Content-Length`` larger than what arrived: a ``RemoteProtocolError``), a
  body that fails to decode (broken gzip).

Credentials: index credentials (from the index URLs, see :mod:`ftlock.index.settings`)
and ``.netrc`` entries (``$NETRC`` or ``~/.netrc``, like pip) are sent per host, as Basic
auth on the first request; a redirect that leaves the origin (scheme, host and port) drops
them, except http->https on the default ports.  URLs that carry ``user:password@`` have it
moved into the request's auth before anything sees or logs the URL.

Plain ``http://`` is only used for loopback hosts and hosts the user allowed explicitly
(``--allow-insecure-host``, pip's ``trusted-host``) — redirects and file links included.

Redirects (301, 302, 303, 307, 308) are followed, at most :data:`MAX_REDIRECTS`; a
relative ``Location`` is resolved against the URL that answered it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import netrc
import os
import random
import ssl
import threading
import time
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast
from urllib.parse import unquote, urlsplit

import msgspec

from ftlock._version import __version__
from ftlock.errors import IndexResponseError, IndexUnreachable, UsageError
from ftlock._urls import is_secure_url, origin, redact, split_credentials
from ftlock.index import wire
from ftlock.index.connections import DirectPool
from ftlock.index.proxied import ProxyPool
from ftlock.index.transport import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    RemoteProtocolError,
    Request,
    Response,
    TimeoutException,
    Timeouts,
    TransportError,
    WriteError,
)
from ftlock.index.wire import DecodingError, InvalidURL
from ftlock.untrusted import (
    BODY_DEADLINE_TIMEOUTS,
    MAX_DIST_BYTES,
    MAX_PAGE_BYTES,
    body_deadline,
)

TRANSIENT_STATUS = {429, 500, 502, 503, 504}
#: Failures worth another try: the next attempt may well succeed (every transport error:
#: timeouts, network and protocol errors, proxies, unsupported URLs; and a body that does
#: not decode).
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (TransportError, DecodingError)
#: Redirects followed per request (httpx's default).
MAX_REDIRECTS = 20
_REDIRECTS = (301, 302, 303, 307, 308)
#: A redirect's own body is read (so its connection is kept) up to this size, else dropped.
_REDIRECT_BODY = 64 * 1024
#: Idle connections are closed after this many seconds (httpx's default).
_KEEPALIVE_EXPIRY = 5.0
#: The longest ``Retry-After`` ftlock waits for; a longer one fails at once, saying so.
MAX_RETRY_AFTER = 60.0
#: Back-off base in seconds (doubled per attempt, capped at MAX_BACKOFF); the environment
#: variable ``FTLOCK_RETRY_BACKOFF`` overrides it (the test suite sets it to 0).
DEFAULT_BACKOFF = 0.5
MAX_BACKOFF = 10.0
log = logging.getLogger("ftlock.resolver.http")  # the name users see in -v output; kept across the move

class Fetched(msgspec.Struct, frozen=True):
    url: str  # final URL after redirects
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class Downloaded(msgspec.Struct, frozen=True):
    """A body streamed to a temporary file: read it with ``file`` (at offset 0), close it
    when done (``with downloaded.file:``)."""

    url: str
    status: int
    headers: dict[str, str]
    file: BinaryIO
    size: int
    sha256: str


class ResponseTooLarge(IndexResponseError):
    """A body (after decompression) over the limit ftlock sets for its kind."""


class _Sink:
    size = 0

    def write(self, chunk: bytes) -> None:
        raise NotImplementedError

    def discard(self) -> None:
        """Drop what was written (a failed attempt)."""


_SinkT = TypeVar("_SinkT", bound=_Sink)


class _MemorySink(_Sink):
    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self.size += len(chunk)

    def discard(self) -> None:
        self._chunks = []

    def value(self) -> bytes:
        return b"".join(self._chunks)


#: bodies up to this size stay in memory; larger ones go to a temporary file
_SPOOL_BYTES = 8 * 1024 * 1024


class _FileSink(_Sink):
    def __init__(self) -> None:
        self._file: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(
            max_size=_SPOOL_BYTES, prefix="ftlock-dl-"
        )
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def discard(self) -> None:
        self._file.close()

    def finish(self) -> tuple[BinaryIO, int, str]:
        self._file.seek(0)
        # a binary file; typeshed does not derive SpooledTemporaryFile from BinaryIO
        return cast(BinaryIO, self._file), self.size, self._hash.hexdigest()


def _content_length(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def _too_large(shown: str, what: str, limit: int) -> str:
    return (
        f"{shown}: the {what} is larger than the {limit // (1024 * 1024)} MiB ftlock accepts "
        "(see docs/reliability.md, \"Limits\")"
    )


class InsecureURL(IndexResponseError):
    """A plain-http URL (a file link, a redirect) to a host nobody allowed."""


class _InsecureRequest(Exception):
    """Raised before a request is sent: a plain-http URL to a host nobody allowed."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class _TooManyRedirects(Exception):
    """More than :data:`MAX_REDIRECTS` redirects: not retried."""


class _Answer:
    """The last response of a request (redirects followed): its URL, status and headers,
    the body still to read from ``response``."""

    __slots__ = ("url", "status", "reason", "headers", "response")

    def __init__(
        self, url: wire.URL, status: int, reason: str, headers: dict[str, str], response: Response
    ) -> None:
        self.url = url
        self.status = status
        self.reason = reason
        self.headers = headers
        self.response = response

    def chunks(self) -> Iterator[bytes]:
        """The body, decoded (gzip, deflate) in pieces of at most :data:`wire.PIECE`."""
        stream = self.response
        decoder = wire.Decoder.for_header(self.headers.get("content-encoding"))
        if decoder is None:
            for chunk in stream:
                if chunk:
                    yield chunk
            return
        for chunk in stream:
            if chunk:
                yield from decoder.feed(chunk)
        yield from decoder.flush()


def _default_backoff() -> float:
    try:
        return max(0.0, float(os.environ.get("FTLOCK_RETRY_BACKOFF", DEFAULT_BACKOFF)))
    except ValueError:
        return DEFAULT_BACKOFF


def load_netrc(environ: dict[str, str] | None = None) -> netrc.netrc | None:
    """``$NETRC`` or ``~/.netrc`` (``~/_netrc`` on Windows), or None; a broken file is
    ignored, as pip (requests) does."""
    env = os.environ if environ is None else environ
    if env.get("NETRC"):
        try:
            candidates = [Path(env["NETRC"]).expanduser()]
        except RuntimeError:
            return None
    else:
        home = Path.home()
        candidates = [home / ".netrc", home / "_netrc"]
    for path in candidates:
        if not path.is_file():
            continue
        try:
            return netrc.netrc(str(path))
        except (netrc.NetrcParseError, OSError, UnicodeDecodeError) as exc:
            log.debug("ignoring %s: %s", path, str(exc).splitlines()[0] if str(exc) else exc)
            return None
    return None


class Http:
    """Thread-safe GET with retries; ``max_connections`` bounds concurrency per solve."""

    def __init__(
        self,
        cert: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        max_connections: int = 24,
        credentials: tuple[tuple[str, str, str], ...] = (),
        insecure_hosts: tuple[str, ...] = (),
        backoff: float | None = None,
        use_netrc: bool = True,
        load_trust: bool = True,
    ) -> None:
        """``load_trust``: start loading the CA certificates at once, in the background
        (tens of milliseconds, without the GIL); False (every index is plain http or a
        file) loads them when a first https connection needs them."""
        self._trust = _Trust(
            cert if cert and Path(cert).exists() else None,
            os.environ.get("SSL_CERT_FILE"),
            os.environ.get("SSL_CERT_DIR"),
        )
        if load_trust:
            self._trust.start()
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = _default_backoff() if backoff is None else max(0.0, backoff)
        self.insecure_hosts = frozenset(h.lower() for h in insecure_hosts)
        # Index credentials live here only, keyed by host: URLs everywhere else (cache,
        # lock, logs, errors) carry none, yet files on the same host still authenticate.
        self._auth = {where: (user, password) for where, user, password in credentials}
        self._netrc = load_netrc() if use_netrc else None
        self.requests = 0
        self.bytes = 0
        self._count_lock = threading.Lock()
        self._closed = False
        # httpx.Timeout(timeout): connect, read, write and pool waits alike
        self._timeouts = Timeouts.all(timeout)
        self._headers = [
            ("Accept", "*/*"),
            ("Accept-Encoding", wire.ACCEPT_ENCODING),
            ("Connection", "keep-alive"),
            ("User-Agent", f"ftlock/{__version__}"),
        ]
        self._cookies = wire.Cookies()
        limits: dict[str, Any] = {  # httpx.Limits, as httpcore's proxy pools take them
            "max_connections": max_connections,
            "max_keepalive_connections": max_connections,
            "keepalive_expiry": _KEEPALIVE_EXPIRY,
        }
        # direct connections (not those through a proxy) look each host up once
        self._pool = DirectPool(
            ssl_context=self._trust.get,
            max_connections=max_connections,
            keepalive_expiry=_KEEPALIVE_EXPIRY,
        )
        # proxies from the environment (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY), as httpx
        # with trust_env: one pool per pattern; None is "no proxy", the direct pool
        try:
            self._routes = [
                (pattern, None if proxy is None else ProxyPool(proxy, self._trust.get(), limits))
                for pattern, proxy in wire.proxy_routes(wire.environment_proxies())
            ]
        except (ValueError, InvalidURL) as exc:  # the user's environment: one line, no traceback
            raise UsageError(f"proxy settings (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY): {exc}") from None

    def close(self) -> None:
        self._closed = True
        self._pool.close()
        for _, pool in self._routes:
            if pool is not None:
                pool.close()

    # -- policy ----------------------------------------------------------------------------
    def _refuse_insecure(self, url: wire.URL) -> None:
        """Runs before every request, redirects included."""
        text = str(url)
        if not is_secure_url(text, self.insecure_hosts):
            raise _InsecureRequest(text)

    def _auth_for(self, url: str) -> tuple[str, str] | None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if self._auth:
            found = self._auth.get(origin(url))  # the exact scheme, host and port
            if found is not None:
                return found
        if self._netrc is not None and host:
            entry = self._netrc.authenticators(host)
            if entry is not None and entry[2] is not None:
                return (entry[0] or "", entry[2])
        return None

    # -- GET -------------------------------------------------------------------------------
    def get(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        limit: int = MAX_PAGE_BYTES,
        what: str = "page",
    ) -> Fetched:
        """GET ``url`` into memory; statuses outside ``ok`` (after retries) raise
        IndexResponseError, and so does a body over ``limit`` bytes (decompressed) or one
        that takes longer than :func:`~ftlock.untrusted.body_deadline`."""
        fetched, sink = self._exchange(url, headers or {}, ok, lambda _status: limit, what, _MemorySink)
        return Fetched(fetched.url, fetched.status, fetched.headers, sink.value())

    def download(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        limit: int | Callable[[int], int] = MAX_DIST_BYTES,
        what: str = "file",
    ) -> Downloaded:
        """GET ``url`` into a temporary file (kept in memory while small), hashing it on the
        way: a multi-GiB wheel never sits in memory.  ``limit`` may depend on the status
        (a 206 answer to a range request is small, a 200 is the whole file)."""
        limit_for = limit if callable(limit) else (lambda _status: limit)
        fetched, sink = self._exchange(url, headers or {}, ok, limit_for, what, _FileSink)
        return Downloaded(fetched.url, fetched.status, fetched.headers, *sink.finish())

    def _exchange(
        self,
        url: str,
        headers: dict[str, str],
        ok: tuple[int, ...],
        limit_for: Callable[[int], int],
        what: str,
        sink_type: type[_SinkT],
    ) -> tuple[Fetched, _SinkT]:
        if url.startswith("file:"):
            fetched = self._get_file(url, headers, limit_for)
            if fetched.status not in ok and fetched.status != 206:
                raise IndexResponseError(f"{url}: not found")
            sink = sink_type()
            sink.write(fetched.body)
            return fetched, sink
        # user:password@ in the URL (a direct reference) becomes this request's auth, so
        # it is never logged or re-sent.
        try:
            url, userinfo = split_credentials(url)
        except ValueError as exc:
            raise IndexResponseError(f"{redact(url)}: invalid URL ({exc})") from None
        auth = userinfo if userinfo is not None else self._auth_for(url)
        shown = redact(url)
        delay = self.backoff
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            sink = sink_type()
            try:
                answer = self._open(url, headers, auth)
                try:
                    status = answer.status
                    retry = status in TRANSIENT_STATUS and attempt < attempts
                    if status in ok or not retry:
                        self._read_body(answer, sink, limit_for(status), shown, what)
                finally:
                    answer.response.close()
            except _InsecureRequest as exc:
                sink.discard()
                host = urlsplit(exc.url).hostname or "?"
                via = f" (redirected from {shown})" if redact(exc.url) != shown else ""
                raise InsecureURL(
                    f"refusing plain-http {redact(exc.url)}{via}: "
                    f"use https, or pass --allow-insecure-host {host}"
                ) from None
            except TRANSIENT_ERRORS as exc:
                sink.discard()
                if attempt < attempts:
                    log.debug("GET %s failed (%s); retry %d of %d", shown, _reason(exc), attempt, self.retries)
                    delay = self._sleep(delay)
                    continue
                raise IndexUnreachable(_describe(exc, shown, attempt, self.timeout)) from None
            except (InvalidURL, _TooManyRedirects) as exc:  # not worth retrying
                sink.discard()
                raise IndexUnreachable(f"cannot fetch {shown}: {_reason(exc)}") from None
            except BaseException:
                sink.discard()
                raise
            log.debug("GET %s %s -> %s", shown, headers.get("Range", ""), status)
            with self._count_lock:
                self.requests += 1
                self.bytes += sink.size
            if status in TRANSIENT_STATUS:
                wait = _retry_after(answer.headers.get("retry-after"))
                if wait is not None and wait > MAX_RETRY_AFTER:
                    sink.discard()
                    raise IndexResponseError(
                        f"{shown}: HTTP {status} {answer.reason}; the "
                        f"index asks to retry after {wait:.0f}s — try again later"
                    )
                if attempt < attempts:
                    sink.discard()
                    log.debug("GET %s -> %s; retry %d of %d", shown, status, attempt, self.retries)
                    if wait is not None:
                        time.sleep(wait)
                        delay = min(MAX_BACKOFF, max(delay, self.backoff) * 2)
                    else:
                        delay = self._sleep(delay)
                    continue
            if status not in ok:
                sink.discard()
                raise IndexResponseError(_status_message(status, answer.reason, shown, attempt))
            fetched = Fetched(redact(str(answer.url)), status, answer.headers, b"")
            return fetched, sink
        raise AssertionError("unreachable")  # pragma: no cover

    # -- one request, redirects followed (httpx's Client.send) ----------------------------
    def _open(self, url: str, headers: dict[str, str], auth: tuple[str, str] | None) -> _Answer:
        """Send GET ``url`` and follow redirects; the caller reads and closes the answer.

        As httpx did: the ``Authorization`` header is set on the first request and kept
        while redirects stay on its origin (or go from http to https on the default
        ports); the caller's headers go along; cookies are kept per host."""
        if self._closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        target = wire.parse_url(url)
        if not target.is_absolute:  # httpx joined it to its empty base URL: a bare path,
            # which the pools refuse (UnsupportedProtocol, as for any other scheme)
            target = wire.URL("", "", "", None, "/" + target.path.lstrip("/"), target.query, None)
        given = {key.lower() for key in headers}
        sent = [(key, value) for key, value in self._headers if key.lower() not in given]
        sent += headers.items()
        cookie = self._cookies.header(target, sent)
        if cookie is not None:
            sent.append(("Cookie", cookie))
        if target.host:
            sent.insert(0, ("Host", target.netloc))
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            _set(sent, "Authorization", f"Basic {token}")
        redirects = 0
        while True:
            if redirects > MAX_REDIRECTS:
                raise _TooManyRedirects("Exceeded maximum allowed redirects.")
            self._refuse_insecure(target)
            response = self._send(target, sent)
            try:
                answer = _Answer(
                    target, response.status, response.reason, wire.decode_headers(response.headers), response
                )
                self._cookies.extract(target, sent, response.headers)
                if response.status not in _REDIRECTS or "location" not in answer.headers:
                    return answer
                following = _redirect_url(target, answer.headers["location"])
                sent = self._redirect_headers(target, following, sent)
                _drain(response)
            except BaseException:
                response.close()
                raise
            response.close()
            target = following
            redirects += 1

    def _send(self, url: wire.URL, headers: list[tuple[str, str]]) -> Response:
        pool: DirectPool | ProxyPool = self._pool
        for pattern, proxy in self._routes:
            if pattern.matches(url):
                pool = proxy or self._pool
                break
        request = Request(
            url.scheme,
            url.host,
            url.port,
            url.target,
            [(key.encode("ascii"), value.encode("utf-8")) for key, value in headers],
            self._timeouts,
        )
        return pool.handle_request(request)

    def _redirect_headers(
        self, url: wire.URL, following: wire.URL, headers: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """httpx's ``_redirect_headers``: credentials stay on their origin."""
        headers = [(key, value) for key, value in headers if key.lower() != "cookie"]
        if not following.same_origin(url):
            if not _is_https_upgrade(url, following):
                headers = [(key, value) for key, value in headers if key.lower() != "authorization"]
            _set(headers, "Host", following.netloc)
        cookie = self._cookies.header(following, headers)
        if cookie is not None:
            headers.append(("Cookie", cookie))
        return headers

    def _read_body(self, answer: _Answer, sink: _Sink, limit: int, shown: str, what: str) -> None:
        """Stream the (decoded) body into ``sink``: at most ``limit`` bytes, and all of it
        before the deadline — a body that trickles in for ever is cut off too."""
        declared = _content_length(answer.headers.get("content-length"))
        if declared is not None and declared > limit and "content-encoding" not in answer.headers:
            raise ResponseTooLarge(_too_large(shown, what, limit))
        deadline = time.monotonic() + body_deadline(self.timeout, min(declared or 0, limit))
        for chunk in answer.chunks():
            if sink.size + len(chunk) > limit:
                raise ResponseTooLarge(_too_large(shown, what, limit))
            sink.write(chunk)
            if time.monotonic() > deadline:
                raise IndexResponseError(
                    f"{shown}: the {what} did not arrive within "
                    f"{body_deadline(self.timeout, min(declared or 0, limit)):.0f}s "
                    f"(--timeout {self.timeout:g}s per read, {BODY_DEADLINE_TIMEOUTS}x for the whole body)"
                )

    def _sleep(self, delay: float) -> float:
        """Sleep ``delay`` plus up to 25% jitter; return the next delay."""
        if delay > 0:
            time.sleep(delay * (1 + random.random() / 4))
        return min(MAX_BACKOFF, delay * 2)

    def _get_file(self, url: str, headers: dict[str, str], limit_for: Callable[[int], int]) -> Fetched:
        from urllib.request import url2pathname  # noqa: PLC0415 - 5 ms, for file: indexes only

        path = Path(url2pathname(unquote(urlsplit(url).path)))
        if path.is_dir():
            path = path / "index.html"
        limit = limit_for(200)
        try:
            with open(path, "rb") as fh:
                body = fh.read(limit + 1)
        except FileNotFoundError:
            return Fetched(url, 404, {}, b"")
        except OSError as exc:
            raise IndexUnreachable(f"cannot read {url}: {exc.strerror}") from None
        if len(body) > limit:
            raise ResponseTooLarge(_too_large(url, "file", limit))
        content_type = "text/html" if path.suffix in (".html", ".htm") else ""
        if path.suffix == ".json":
            content_type = "application/vnd.pypi.simple.v1+json"
        rng = headers.get("Range")
        if rng and rng.startswith("bytes="):
            start_s, _, end_s = rng.removeprefix("bytes=").partition("-")
            size = len(body)
            if not start_s:
                start, end = max(0, size - int(end_s)), size - 1
            else:
                start, end = int(start_s), (int(end_s) if end_s else size - 1)
            chunk = body[start : end + 1]
            return Fetched(
                url, 206, {"content-range": f"bytes {start}-{start + len(chunk) - 1}/{size}"}, chunk
            )
        return Fetched(url, 200, {"content-type": content_type}, body)


class _Trust:
    """The TLS context, its CA certificates loaded once, in a thread of its own.

    Loading a CA bundle costs 20-35 ms of CPU, in OpenSSL with the GIL released: started
    with the solve, it is ready before the first https connection; a solve that only
    talks plain http to a loopback or allowed host never loads it.  A bundle that cannot
    be loaded is a one-line error where the first https connection needs it."""

    def __init__(self, cert: str | None, env_file: str | None, env_dir: str | None) -> None:
        self._where = (cert, env_file, env_dir)
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None
        self._context: ssl.SSLContext | None = None
        self._error: str | None = None

    def start(self) -> None:
        with self._lock:
            if self._loader is None:
                self._loader = threading.Thread(target=self._load, name="ftlock-tls-trust", daemon=True)
                self._loader.start()

    def _load(self) -> None:
        try:
            self._context = _ssl_context(*self._where)
        except (OSError, ssl.SSLError, ValueError) as exc:
            shown = next((w for w in self._where if w), "the certifi bundle")
            self._error = f"cannot load CA certificates from {shown}: {_reason(exc)}"

    def get(self) -> ssl.SSLContext:
        self.start()
        assert self._loader is not None
        self._loader.join()
        if self._context is None:
            raise UsageError(self._error or "cannot load CA certificates")
        return self._context


@functools.lru_cache(maxsize=8)
def _ssl_context(cert: str | None, env_file: str | None, env_dir: str | None) -> ssl.SSLContext:
    """Trust as pip would: ``--cert``/``PIP_CERT`` when given, else what httpx trusted (the
    ``SSL_CERT_FILE``/``SSL_CERT_DIR`` environment, else certifi).  Loading a CA bundle
    takes tens of milliseconds, so one context per configuration is shared (SSLContext is
    safe to share between connections and threads)."""
    if cert:
        return ssl.create_default_context(cafile=cert)
    if env_file:
        return ssl.create_default_context(cafile=env_file)
    if env_dir:
        return ssl.create_default_context(capath=env_dir)
    import certifi  # noqa: PLC0415 - not needed when a bundle is given

    return ssl.create_default_context(cafile=certifi.where())


def _redirect_url(url: wire.URL, location: str) -> wire.URL:
    """httpx's ``_redirect_url``: ``Location`` resolved against the URL that answered."""
    try:
        following = wire.parse_url(location)
    except InvalidURL as exc:  # the server's fault: like a broken answer, transient
        raise RemoteProtocolError(f"Invalid URL in location header: {exc}.") from None
    if following.scheme and not following.host:  # "https:/path": the same host
        following = following.copy_with(host=url.host)
    if not following.is_absolute:
        following = url.join(following)
    if unquote(url.fragment or "") and not unquote(following.fragment or ""):
        following = following.copy_with(fragment=unquote(url.fragment or ""))
    return following


def _is_https_upgrade(url: wire.URL, following: wire.URL) -> bool:
    """http://host to https://host, both on their default ports: credentials go along."""
    return (
        url.host == following.host
        and url.scheme == "http"
        and url.default_port == 80
        and following.scheme == "https"
        and following.default_port == 443
    )


def _drain(response: Response) -> None:
    """Read a redirect's body so its connection can serve the next request; a large one
    is left unread (closing the response then drops the connection)."""
    read = 0
    for chunk in response:
        read += len(chunk)
        if read > _REDIRECT_BODY:
            return


def _set(headers: list[tuple[str, str]], name: str, value: str) -> None:
    """httpx's ``Headers.__setitem__``: replace the first ``name`` header (dropping any
    others), or add one at the end."""
    wanted = name.lower()
    found = [i for i, (key, _) in enumerate(headers) if key.lower() == wanted]
    for i in reversed(found[1:]):
        del headers[i]
    if found:
        headers[found[0]] = (name, value)
    else:
        headers.append((name, value))


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _describe(exc: Exception, shown: str, attempts: int, timeout: float) -> str:
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    if isinstance(exc, (ConnectError, ConnectTimeout)):
        return f"cannot reach {shown}: {_reason(exc)}{tries}"
    if isinstance(exc, TimeoutException):
        return f"{shown}: no answer within --timeout {timeout:g}s{tries}"
    if isinstance(exc, (RemoteProtocolError, ReadError, WriteError)):
        return f"{shown}: the connection broke off ({_reason(exc)}){tries}"
    if isinstance(exc, DecodingError):
        return f"{shown}: the response could not be decoded ({_reason(exc)}){tries}"
    return f"cannot reach {shown}: {_reason(exc)}{tries}"


def _status_message(status: int, reason: str, shown: str, attempts: int) -> str:
    text = f"{shown}: HTTP {status} {reason}"
    if status in (401, 403):
        text += " (give credentials in the index URL or in .netrc)"
    if attempts > 1:
        text += f" ({attempts} attempts)"
    return text


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # noqa: PLC0415 - rare: an HTTP-date Retry-After

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:  # pragma: no cover - older Pythons
        return None
    return max(0.0, when.timestamp() - time.time())
