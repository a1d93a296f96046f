"""What a connection pool is given and gives back, and the ways a request can fail.

:class:`~ftlock.index.http.Http` talks to two kinds of pool through this one interface:
:class:`~ftlock.index.connections.DirectPool` (ftlock's own HTTP/1.1 connections, for
every host reached without a proxy) and :class:`~ftlock.index.proxied.ProxyPool`
(httpcore's proxy pools, imported only when the environment names a proxy).

The exceptions keep httpcore's names and tree, which ``Http`` and its users grew up
with: every one is a :class:`TransportError`, and every transport error is worth
another try (a later attempt may well succeed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple


class TransportError(Exception):
    """A request that got no complete answer."""


class TimeoutException(TransportError):
    """A wait that ran past its timeout."""


class ConnectTimeout(TimeoutException):
    """No TCP connection (or TLS handshake) within the connect timeout."""


class ReadTimeout(TimeoutException):
    """Nothing arrived within the read timeout."""


class WriteTimeout(TimeoutException):
    """The request could not be sent within the write timeout."""


class PoolTimeout(TimeoutException):
    """Every connection slot stayed busy for the pool timeout."""


class NetworkError(TransportError):
    """The network failed under a connection."""


class ConnectError(NetworkError):
    """The host could not be looked up or reached, or its TLS handshake failed."""


class ReadError(NetworkError):
    """Reading from the connection failed (a reset, a TLS error)."""


class WriteError(NetworkError):
    """Sending the request failed (a reset, a broken pipe)."""


class ProtocolError(TransportError):
    """An exchange that broke HTTP/1.1's rules."""


class RemoteProtocolError(ProtocolError):
    """The server's fault: a malformed answer, or a body cut short."""


class LocalProtocolError(ProtocolError):
    """Ours: a request ftlock must not send (a header carrying a line break)."""


class ProxyError(TransportError):
    """The proxy refused or failed the request."""


class UnsupportedProtocol(TransportError):
    """A URL that is neither http nor https, or has no host."""


class Timeouts(NamedTuple):
    """Seconds to wait for each step (None: for ever)."""

    connect: float | None
    read: float | None
    write: float | None
    pool: float | None

    @classmethod
    def all(cls, seconds: float | None) -> Timeouts:
        return cls(seconds, seconds, seconds, seconds)


class Request(NamedTuple):
    """One GET: the origin, the request target (path and query, ASCII) and the headers,
    ``Host`` included, in the order they are sent."""

    scheme: str
    host: str
    port: int | None  # None: the scheme's default
    target: bytes
    headers: list[tuple[bytes, bytes]]
    timeouts: Timeouts


class Response:
    """A status and headers, and a body read by iterating; ``close()`` gives the
    connection back (or drops it when the body was not read to its end).  Closing
    twice is harmless."""

    __slots__ = ("status", "reason", "headers", "_body", "_close")

    def __init__(
        self,
        status: int,
        reason: str,
        headers: list[tuple[bytes, bytes]],
        body: Iterator[bytes],
        close: Callable[[], None],
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self._body = body
        self._close: Callable[[], None] | None = close

    def __iter__(self) -> Iterator[bytes]:
        return self._body

    def close(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            close()


def default_port(scheme: str) -> int | None:
    return {"http": 80, "https": 443}.get(scheme)
