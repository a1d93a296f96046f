"""Keep-alive connections to the hosts a solve talks to directly (no proxy).

A request takes the most recently used idle connection to its origin (scheme, host,
port), checks only that one, and puts it back when its response is closed having been
read to its end.  At most ``max_connections`` requests are in flight (a caller waits up to
the request's ``pool`` timeout, then :class:`~ftlock.index.transport.PoolTimeout`); idle
connections are closed once ``keepalive_expiry`` seconds old or dropped by the server; a
reused connection the server had closed under us is replaced and the request sent again.

Each host is looked up once per solve (see :class:`_Addresses`), and the TLS context is
asked for (``ssl_context()``) only when an https connection is made, so that a solve
against a plain-http index never loads CA certificates.

The protocol is :mod:`ftlock.index.h1`.  This replaced httpcore's ``ConnectionPool``
(which scanned every connection against every queued request, each time, under one
lock: hundreds of ``poll`` calls per request with 16 threads) and then its h11
connections: about 0.6 ms of CPU per 150 KB request then, 0.2 ms now.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator

from ftlock.index import h1
from ftlock.index.transport import (
    ConnectError,
    ConnectTimeout,
    PoolTimeout,
    Request,
    Response,
    Timeouts,
    UnsupportedProtocol,
    default_port,
)

_Origin = tuple[str, str, int]


class DirectPool:
    """``handle_request`` and ``close``: HTTP/1.1 to the hosts themselves."""

    def __init__(
        self,
        ssl_context: Callable[[], ssl.SSLContext] | None = None,
        max_connections: int = 24,
        keepalive_expiry: float | None = None,
    ) -> None:
        self._ssl_context = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._slots = threading.BoundedSemaphore(max_connections)
        self._lock = threading.Lock()
        self._idle: dict[_Origin, list[h1.Connection]] = {}
        self._addresses = _Addresses()
        self._closed = False

    def handle_request(self, request: Request) -> Response:
        scheme = request.scheme
        if scheme not in ("http", "https"):
            raise UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'."
                if scheme
                else "Request URL is missing an 'http://' or 'https://' protocol."
            )
        if not request.host:
            raise UnsupportedProtocol("Request URL is missing a host.")
        port = request.port or default_port(scheme) or 0
        origin = (scheme, request.host, port)
        timeouts = request.timeouts
        if not self._slots.acquire(timeout=timeouts.pool):
            raise PoolTimeout("No connection became available in time.")
        try:
            headers = request.headers
            if not any(name.lower() == b"host" for name, _ in headers):
                host = f"[{request.host}]" if ":" in request.host else request.host
                netloc = host if request.port in (None, default_port(scheme)) else f"{host}:{port}"
                headers = [(b"Host", netloc.encode("ascii")), *headers]
            closing = any(
                name.lower() == b"connection" and b"close" in value.lower() for name, value in headers
            )
            while True:
                connection = self._take(origin, timeouts)
                try:
                    connection.send(request.target, headers, timeouts)
                    head = connection.read_head(timeouts, closing)
                except h1._Stale:
                    connection.close()  # closed under us: a new connection (the request is a GET)
                    continue
                except BaseException:
                    connection.close()
                    raise
                break
        except BaseException:
            self._slots.release()
            raise
        done = _Done(self, origin, connection)
        return Response(head.status, head.reason, head.headers, done.body(head), done)

    def _take(self, origin: _Origin, timeouts: Timeouts) -> h1.Connection:
        """The most recently used idle connection to ``origin`` that still works, else a
        new one; stale ones met on the way are closed."""
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                connection = idle.pop() if idle else None
            if connection is None:
                return self._connect(origin, timeouts)
            if connection.usable(self._keepalive_expiry):
                return connection
            connection.close()

    def _connect(self, origin: _Origin, timeouts: Timeouts) -> h1.Connection:
        scheme, host, port = origin
        sock = self._addresses.connect(host, port, timeouts.connect)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                context = self._ssl_context() if self._ssl_context else ssl.create_default_context()
                try:
                    sock = context.wrap_socket(sock, server_hostname=host)
                except TimeoutError as exc:
                    raise ConnectTimeout("timed out during the TLS handshake") from exc
                except (OSError, ssl.SSLError, ValueError) as exc:
                    raise ConnectError(str(exc) or type(exc).__name__) from exc
        except BaseException:
            sock.close()
            raise
        return h1.Connection(sock, timeouts.connect)

    def _give_back(self, origin: _Origin, connection: h1.Connection) -> None:
        try:
            if not connection.closed and not self._closed:
                with self._lock:
                    if not self._closed:
                        self._idle.setdefault(origin, []).append(connection)
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


class _Done:
    """A response's body and its ``close``: the slot is given back once, the connection
    kept only when the body was read to its end (a body that breaks frees its slot at
    once)."""

    __slots__ = ("_pool", "_origin", "_connection", "_finished", "_released")

    def __init__(self, pool: DirectPool, origin: _Origin, connection: h1.Connection) -> None:
        self._pool = pool
        self._origin = origin
        self._connection = connection
        self._finished = False
        self._released = False

    def body(self, head: h1.Head) -> Iterator[bytes]:
        try:
            yield from self._connection.body(head)
        except BaseException:
            self()
            raise
        self._finished = True

    def __call__(self) -> None:
        if self._released:
            return
        self._released = True
        if not self._finished:
            self._connection.close()
        self._pool._give_back(self._origin, self._connection)


class _Addresses:
    """Each host looked up once per solve, not once per connection.

    A cold solve opens up to 16 connections to the files host within a millisecond, and
    each one called ``getaddrinfo``.  Where a DNS answer gets lost, the resolver waits 5 s
    before it asks again: measured on this machine, one cold solve in four stalled that
    long, every thread waiting on its own lookup.  Here one thread looks the host up and
    the others wait for that answer; every address is tried in order, as
    ``socket.create_connection`` does.  A failed lookup is not remembered.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[tuple[str, int], threading.Lock] = {}
        self._found: dict[tuple[str, int], list[tuple[int, tuple[object, ...]]]] = {}

    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        addresses = self._lookup(host, port)
        failure: Exception | None = None
        for family, address in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(address)
                return sock
            except TimeoutError as exc:
                sock.close()
                failure = ConnectTimeout("timed out")
                failure.__cause__ = exc
            except OSError as exc:
                sock.close()
                failure = ConnectError(str(exc) or type(exc).__name__)
                failure.__cause__ = exc
        assert failure is not None
        raise failure

    def _lookup(self, host: str, port: int) -> list[tuple[int, tuple[object, ...]]]:
        key = (host, port)
        with self._lock:
            host_lock = self._hosts.setdefault(key, threading.Lock())
        with host_lock:
            found = self._found.get(key)
            if found is None:
                try:
                    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
                except (OSError, UnicodeError) as exc:
                    raise ConnectError(str(exc) or type(exc).__name__) from exc
                found = list(dict.fromkeys((info[0], info[4]) for info in infos))
                if not found:
                    raise ConnectError(f"no address for {host}")
                self._found[key] = found
            return found
