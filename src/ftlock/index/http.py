"""One HTTP session for a solve: TLS trust and proxies as pip would use them, bounded
retries with back-off for transient failures, and ``file://`` URLs read from disk.

Everything above this module sees :class:`Fetched` values and ftlock errors, never httpx
exceptions, so messages stay one line and never leak credentials.

What counts as transient (retried ``retries`` times, waiting ``backoff`` seconds, doubling,
with a little jitter; ``Retry-After`` is honoured up to :data:`MAX_RETRY_AFTER`):

* statuses 429, 500, 502, 503, 504;
* every transport failure: connection refused or reset, timeouts, a body cut short
  (``Content-Length`` larger than what arrived: httpx's ``RemoteProtocolError``), a body
  that fails to decode (broken gzip).

Credentials: index credentials (from the index URLs, see :mod:`ftlock.index.settings`)
and ``.netrc`` entries (``$NETRC`` or ``~/.netrc``, like pip) are sent per host.  URLs that
carry ``user:password@`` have it moved into the request's auth before anything sees or
logs the URL.

Plain ``http://`` is only used for loopback hosts and hosts the user allowed explicitly
(``--allow-insecure-host``, pip's ``trusted-host``) — redirects and file links included.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import netrc
import os
import random
import socket
import ssl
import threading
import time
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast
from urllib.parse import unquote, urlsplit

import sys

# httpx's own command-line client (httpx._main) pulls in rich, pygments and click at import,
# about 45 ms of every cold start; ftlock never uses it, and httpx falls back to a stub
# when it cannot be imported (a None entry in sys.modules makes that import fail).
if "httpx" not in sys.modules:
    # None in sys.modules blocks an import (documented); typeshed's stub allows modules only
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
import httpcore  # noqa: E402
import httpx  # noqa: E402

from ftlock._version import __version__
from ftlock.errors import IndexResponseError, IndexUnreachable
from ftlock._urls import is_secure_url, origin, redact, split_credentials
from ftlock.untrusted import (
    BODY_DEADLINE_TIMEOUTS,
    MAX_DIST_BYTES,
    MAX_PAGE_BYTES,
    body_deadline,
)

TRANSIENT_STATUS = {429, 500, 502, 503, 504}
#: Failures worth another try: the next attempt may well succeed.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (httpx.TransportError, httpx.DecodingError)
#: The longest ``Retry-After`` ftlock waits for; a longer one fails at once, saying so.
MAX_RETRY_AFTER = 60.0
#: Back-off base in seconds (doubled per attempt, capped at MAX_BACKOFF); the environment
#: variable ``FTLOCK_RETRY_BACKOFF`` overrides it (the test suite sets it to 0).
DEFAULT_BACKOFF = 0.5
MAX_BACKOFF = 10.0
log = logging.getLogger("ftlock.resolver.http")  # the name users see in -v output; kept across the move


@dataclass(frozen=True)
class Fetched:
    url: str  # final URL after redirects
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass(frozen=True)
class Downloaded:
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
    """Raised from the request hook: a plain-http request to a host nobody allowed."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


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
    ) -> None:
        verify = _ssl_context(
            cert if cert and Path(cert).exists() else None,
            os.environ.get("SSL_CERT_FILE"),
            os.environ.get("SSL_CERT_DIR"),
        )
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
        self._client = httpx.Client(
            verify=verify,
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            trust_env=True,
            headers={"User-Agent": f"ftlock/{__version__}"},
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            event_hooks={"request": [self._refuse_insecure]},
        )
        # direct connections (not those through a proxy) look each host up once
        pool = getattr(getattr(self._client, "_transport", None), "_pool", None)
        if type(pool) is httpcore.ConnectionPool:
            pool._network_backend = _ResolveOnce()

    def close(self) -> None:
        self._client.close()

    # -- policy ----------------------------------------------------------------------------
    def _refuse_insecure(self, request: httpx.Request) -> None:
        """Runs before every request, redirects included."""
        url = str(request.url)
        if not is_secure_url(url, self.insecure_hosts):
            raise _InsecureRequest(url)

    def _auth_for(self, url: str) -> tuple[str, str] | httpx._client.UseClientDefault:
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
        return httpx.USE_CLIENT_DEFAULT

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
        # httpx never logs or re-sends it.
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
                with self._client.stream("GET", url, headers=headers, auth=auth) as response:
                    status = response.status_code
                    retry = status in TRANSIENT_STATUS and attempt < attempts
                    if status in ok or not retry:
                        self._read_body(response, sink, limit_for(status), shown, what)
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
            except (httpx.HTTPError, httpx.InvalidURL) as exc:  # not worth retrying
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
                wait = _retry_after(response.headers.get("retry-after"))
                if wait is not None and wait > MAX_RETRY_AFTER:
                    sink.discard()
                    raise IndexResponseError(
                        f"{shown}: HTTP {status} {response.reason_phrase}; the "
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
                raise IndexResponseError(_status_message(response, shown, attempt))
            fetched = Fetched(
                redact(str(response.url)),
                status,
                {k.lower(): v for k, v in response.headers.items()},
                b"",
            )
            return fetched, sink
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_body(
        self, response: httpx.Response, sink: _Sink, limit: int, shown: str, what: str
    ) -> None:
        """Stream the (decoded) body into ``sink``: at most ``limit`` bytes, and all of it
        before the deadline — a body that trickles in for ever is cut off too."""
        declared = _content_length(response.headers.get("content-length"))
        if declared is not None and declared > limit and "content-encoding" not in response.headers:
            raise ResponseTooLarge(_too_large(shown, what, limit))
        deadline = time.monotonic() + body_deadline(self.timeout, min(declared or 0, limit))
        for chunk in response.iter_bytes():
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


class _ResolveOnce(httpcore.SyncBackend):
    """Connections that look their host up once per solve, not once each.

    A cold solve opens up to 16 connections to the files host within a millisecond, and
    each one called ``getaddrinfo``.  Where a DNS answer gets lost, the resolver waits 5 s
    before it asks again: measured on this machine, one cold solve in four stalled that
    long, every thread waiting on its own lookup.  Here one thread looks the host up and
    the others wait for that answer; every address is tried in order, as
    ``socket.create_connection`` does.  A failed lookup is not remembered.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._hosts: dict[tuple[str, int], threading.Lock] = {}
        self._addresses: dict[tuple[str, int], list[str]] = {}

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._lookup(host, port)
        for address in addresses[:-1]:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue
        return super().connect_tcp(addresses[-1], port, timeout, local_address, socket_options)

    def _lookup(self, host: str, port: int) -> list[str]:
        key = (host, port)
        with self._lock:
            host_lock = self._hosts.setdefault(key, threading.Lock())
        with host_lock:
            found = self._addresses.get(key)
            if found is None:
                try:
                    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
                except OSError as exc:
                    raise httpcore.ConnectError(str(exc)) from exc
                found = list(dict.fromkeys(str(info[4][0]) for info in infos)) or [host]
                self._addresses[key] = found
            return found


@functools.lru_cache(maxsize=8)
def _ssl_context(cert: str | None, env_file: str | None, env_dir: str | None) -> ssl.SSLContext:
    """Trust as pip would: ``--cert``/``PIP_CERT`` when given, else what httpx trusts (the
    ``SSL_CERT_FILE``/``SSL_CERT_DIR`` environment, else certifi).  Loading a CA bundle
    takes tens of milliseconds, so one context per configuration is shared (SSLContext is
    safe to share between connections and threads)."""
    if cert:
        return ssl.create_default_context(cafile=cert)
    return httpx.create_ssl_context(trust_env=True)


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _describe(exc: Exception, shown: str, attempts: int, timeout: float) -> str:
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return f"cannot reach {shown}: {_reason(exc)}{tries}"
    if isinstance(exc, httpx.TimeoutException):
        return f"{shown}: no answer within --timeout {timeout:g}s{tries}"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return f"{shown}: the connection broke off ({_reason(exc)}){tries}"
    if isinstance(exc, httpx.DecodingError):
        return f"{shown}: the response could not be decoded ({_reason(exc)}){tries}"
    return f"cannot reach {shown}: {_reason(exc)}{tries}"


def _status_message(response: httpx.Response, shown: str, attempts: int) -> str:
    text = f"{shown}: HTTP {response.status_code} {response.reason_phrase}"
    if response.status_code in (401, 403):
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
