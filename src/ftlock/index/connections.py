"""Keep-alive connections to the hosts a solve talks to directly (no proxy).

httpcore's ``ConnectionPool`` hands each request to a connection by scanning every
connection against every queued request, under one lock, each time a request starts or a
response closes: with 16 threads that is hundreds of ``is_idle``/``has_expired`` calls
(each expiry check a ``poll`` on the socket) per request — 0.3 ms of CPU per request on a
solve that is CPU-bound (measured: 1.0 ms per 150 KB request through the pool, 0.7 ms
on a connection reused directly).  Here a request takes the most recently used idle
connection to its origin, checks only that one, and puts it back when its response is
closed.  Connections are httpcore's own (``httpcore.HTTPConnection``): the HTTP/1.1
protocol, TLS and timeouts are unchanged.

The TLS context is asked for (``ssl_context()``) only when an https connection is
made, so that a solve against a plain-http index never loads CA certificates.

What the pool also did is kept: at most ``max_connections`` requests in flight (a caller
waits up to the request's ``pool`` timeout, then ``httpcore.PoolTimeout``), idle
connections closed once ``keepalive_expiry`` seconds old or dropped by the server, and a
connection that turns out to be unusable for a new request is replaced, not reported.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpcore


class _Stream:
    """A response body that gives its connection back when closed."""

    def __init__(self, stream: Any, done: Any) -> None:
        self._stream = stream
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except BaseException:
            self.close()  # a broken body frees its slot at once, as httpcore's pool does
            raise

    def close(self) -> None:
        done, self._done = self._done, None
        if done is None:
            return
        try:
            if hasattr(self._stream, "close"):
                self._stream.close()
        finally:
            done()


class DirectPool:
    """``handle_request`` and ``close`` as in ``httpcore.ConnectionPool``, for HTTP/1.1."""

    def __init__(
        self,
        ssl_context: Callable[[], ssl.SSLContext] | None = None,
        max_connections: int = 24,
        keepalive_expiry: float | None = None,
        network_backend: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._ssl_context = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._backend = network_backend
        self._slots = threading.BoundedSemaphore(max_connections)
        self._lock = threading.Lock()
        self._idle: dict[tuple[bytes, bytes, int], list[httpcore.HTTPConnection]] = {}
        self._closed = False

    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        scheme = request.url.scheme.decode("ascii", errors="replace")
        if scheme not in ("http", "https"):
            raise httpcore.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'."
                if scheme
                else "Request URL is missing an 'http://' or 'https://' protocol."
            )
        if not request.url.host:
            raise httpcore.UnsupportedProtocol("Request URL is missing a host.")
        timeouts = request.extensions.get("timeout", {})
        if not self._slots.acquire(timeout=timeouts.get("pool")):
            raise httpcore.PoolTimeout("No connection became available in time.")
        try:
            origin = request.url.origin
            while True:
                connection = self._take(origin)
                try:
                    response = connection.handle_request(request)
                except httpcore.ConnectionNotAvailable:
                    connection.close()  # closed under us: try another (the pool does)
                    continue
                except BaseException:
                    connection.close()
                    raise
                break
        except BaseException:
            self._slots.release()
            raise
        return httpcore.Response(
            status=response.status,
            headers=response.headers,
            content=_Stream(response.stream, lambda: self._give_back(origin, connection)),
            extensions=response.extensions,
        )

    def _take(self, origin: httpcore.Origin) -> httpcore.HTTPConnection:
        """The most recently used idle connection to ``origin`` that still works, else a
        new one; stale ones met on the way are closed."""
        key = (origin.scheme, origin.host, origin.port)
        while True:
            with self._lock:
                idle = self._idle.get(key)
                connection = idle.pop() if idle else None
            if connection is None:
                return httpcore.HTTPConnection(
                    origin=origin,
                    ssl_context=self._ssl_context() if origin.scheme == b"https" and self._ssl_context else None,
                    keepalive_expiry=self._keepalive_expiry,
                    network_backend=self._backend,
                )
            if connection.is_idle() and not connection.has_expired():
                return connection
            connection.close()

    def _give_back(self, origin: httpcore.Origin, connection: httpcore.HTTPConnection) -> None:
        try:
            if connection.is_idle() and not self._closed:
                with self._lock:
                    if not self._closed:
                        key = (origin.scheme, origin.host, origin.port)
                        self._idle.setdefault(key, []).append(connection)
                        return
            connection.close()
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle = [c for connections in self._idle.values() for c in connections]
            self._idle.clear()
        for connection in idle:
            connection.close()
