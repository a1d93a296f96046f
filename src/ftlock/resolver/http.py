"""One HTTP session for a solve: TLS trust and proxies as pip would use them, bounded
retries with back-off for transient failures, and ``file://`` URLs read from disk.

Everything above this module sees :class:`Fetched` values and ftlock errors, never httpx
exceptions, so messages stay one line and never leak credentials.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import httpx

from ftlock import __version__
from ftlock.errors import IndexResponseError, IndexUnreachable
from ftlock.resolver.indexes import redact

TRANSIENT_STATUS = {429, 500, 502, 503, 504}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fetched:
    url: str  # final URL after redirects
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class Http:
    """Thread-safe GET with retries; ``max_connections`` bounds concurrency per solve."""

    def __init__(
        self,
        cert: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        max_connections: int = 24,
        credentials: tuple[tuple[str, str, str], ...] = (),
    ) -> None:
        verify: ssl.SSLContext | bool = True
        if cert and Path(cert).exists():
            verify = ssl.create_default_context(cafile=cert)
        self.retries = retries
        # Index credentials live here only, keyed by host: URLs everywhere else (cache,
        # lock, logs, errors) carry none, yet files on the same host still authenticate.
        self._auth = {netloc: (user, password) for netloc, user, password in credentials}
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
        )

    def close(self) -> None:
        self._client.close()

    def get(
        self, url: str, headers: dict[str, str] | None = None, ok: tuple[int, ...] = (200,)
    ) -> Fetched:
        """GET ``url``; statuses outside ``ok`` (after retries) raise IndexResponseError."""
        if url.startswith("file:"):
            fetched = self._get_file(url, headers or {})
            if fetched.status not in ok and fetched.status != 206:
                raise IndexResponseError(f"{url}: not found")
            return fetched
        delay = 0.5
        for attempt in range(self.retries + 1):
            try:
                response = self._client.get(url, headers=headers, auth=self._auth_for(url))
            except (httpx.TransportError, httpx.TooManyRedirects) as exc:
                if attempt < self.retries and not isinstance(exc, httpx.TooManyRedirects):
                    time.sleep(delay)
                    delay *= 2
                    continue
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise IndexUnreachable(f"cannot reach {redact(url)}: {reason}") from None
            log.debug("GET %s %s -> %s", redact(url), (headers or {}).get("Range", ""), response.status_code)
            with self._count_lock:
                self.requests += 1
                self.bytes += len(response.content)
            if response.status_code in TRANSIENT_STATUS and attempt < self.retries:
                wait = _retry_after(response.headers.get("retry-after"), delay)
                time.sleep(wait)
                delay *= 2
                continue
            if response.status_code not in ok:
                raise IndexResponseError(
                    f"{redact(url)}: HTTP {response.status_code} {response.reason_phrase}"
                )
            return Fetched(
                str(response.url),
                response.status_code,
                {k.lower(): v for k, v in response.headers.items()},
                response.content,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _auth_for(self, url: str) -> tuple[str, str] | httpx._client.UseClientDefault:
        parts = urlsplit(url)
        if parts.username is None and self._auth:
            host = parts.hostname or ""
            found = self._auth.get(f"{host}:{parts.port}" if parts.port else host)
            if found is not None:
                return found
        return httpx.USE_CLIENT_DEFAULT

    def _get_file(self, url: str, headers: dict[str, str]) -> Fetched:
        path = Path(url2pathname(unquote(urlsplit(url).path)))
        if path.is_dir():
            path = path / "index.html"
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            return Fetched(url, 404, {}, b"")
        except OSError as exc:
            raise IndexUnreachable(f"cannot read {url}: {exc.strerror}") from None
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


def _retry_after(value: str | None, default: float) -> float:
    if value:
        try:
            return min(float(value), 30.0)
        except ValueError:
            pass
    return default
