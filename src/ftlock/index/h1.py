"""One HTTP/1.1 connection: send a GET, read the answer's head, stream its body.

Why not h11 (through httpcore): a cold solve makes 150-400 requests and is CPU-bound on
small machines; h11's event machinery cost about 0.4 ms of CPU per 150 KB response
(state transitions, a receive buffer that re-scans, header objects), more than
everything else ftlock does per request, and httpcore, h11 and anyio 15 ms to import.
Here a response is a status line, a header block found with one search, and a body framed
by ``Content-Length``, ``chunked`` or the end of the connection (RFC 9112, section 6):
about 0.1 ms.

What h11 checked is checked here, because the server is untrusted: the head (status line
and headers) is at most :data:`MAX_HEAD` bytes, every header line must parse, a
``Content-Length`` must be digits (repeated only with the same value), the only transfer
coding is ``chunked``, a chunk-size line is bounded, and a body that ends early is an
error, never a short body.  Header names and values ftlock sends must not carry a line
break, so no value can add a header or a request.

A connection is reused only when its last response was read to its end, both sides
spoke HTTP/1.1 without ``Connection: close``, nothing arrived beyond that response, and
the socket has not become readable while idle (the server closing it).
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import time
from collections.abc import Iterator

from ftlock.index.transport import (
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    LocalProtocolError,
    Timeouts,
    WriteError,
    WriteTimeout,
)

#: Status line and headers together (httpcore's limit for h11: 100 KiB).
MAX_HEAD = 100 * 1024
#: A chunk-size line, extensions included.
MAX_CHUNK_LINE = 4 * 1024
#: The most asked of one ``recv``: a 150 KB page arrives in one or two reads.
RECV = 256 * 1024

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_STATUS = re.compile(rb"HTTP/([0-9]\.[0-9]) ([0-9]{3})(?: ([\t\x20-\x7e\x80-\xff]*))?\r?")
_HEADER = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[\t ]*([\t\x20-\x7e\x80-\xff]*?)[\t ]*\r?")
_FOLD = re.compile(rb"[\t ]+([\t\x20-\x7e\x80-\xff]*?)[\t ]*\r?")
_TARGET = re.compile(rb"[\x21-\x7e]+")
_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[\t ]*(?:;[^\r\n]*)?\r?\n")


class _Stale(Exception):
    """A reused connection the server had closed: nothing of the answer arrived, so the
    request may go again on a new connection (GET is idempotent)."""


class Head:
    """A response's status line and headers, and how its body is framed."""

    __slots__ = ("status", "reason", "headers", "length", "chunked", "keep_alive")

    def __init__(
        self,
        status: int,
        reason: str,
        headers: list[tuple[bytes, bytes]],
        length: int | None,
        chunked: bool,
        keep_alive: bool,
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.length = length  # None with chunked, or when the body runs to the close
        self.chunked = chunked
        self.keep_alive = keep_alive


class Connection:
    """A connected socket (TLS already set up) and what was read from it but not used."""

    def __init__(self, sock: socket.socket, timeout: float | None) -> None:
        self._sock = sock
        self._timeout = timeout  # what the socket is set to now
        self._buffer = bytearray()
        self._poll: select.poll | None = None
        self.idle_since = time.monotonic()
        self.used = 0  # responses read to their end
        self.closed = False

    # -- state --------------------------------------------------------------------------
    def usable(self, expiry: float | None) -> bool:
        """Fit for another request: not past ``expiry`` seconds idle, and not readable
        (an idle socket turns readable when the server closes it, or sends what nobody
        asked for)."""
        if self.closed:
            return False
        if expiry is not None and time.monotonic() - self.idle_since > expiry:
            return False
        try:
            if self._readable():
                return False
        except (OSError, ValueError):
            return False
        # TLS: bytes the server sent beyond the last answer may wait, decrypted, in the
        # TLS layer rather than the socket
        return not (isinstance(self._sock, ssl.SSLSocket) and self._sock.pending())

    def _readable(self) -> bool:
        if not hasattr(select, "poll"):  # Windows: no poll(); select() has no fd limit there
            return bool(select.select([self._sock], [], [], 0)[0])
        if self._poll is None:
            self._poll = select.poll()
            self._poll.register(self._sock, select.POLLIN)
        return bool(self._poll.poll(0))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self._sock.close()
            except OSError:
                pass

    def _set_timeout(self, seconds: float | None) -> None:
        if seconds != self._timeout:
            self._sock.settimeout(seconds)
            self._timeout = seconds

    # -- one exchange -------------------------------------------------------------------
    def send(self, target: bytes, headers: list[tuple[bytes, bytes]], timeouts: Timeouts) -> None:
        if not _TARGET.fullmatch(target):
            raise LocalProtocolError(f"illegal request target {target[:100]!r}")
        parts = [b"GET ", target, b" HTTP/1.1\r\n"]
        for name, value in headers:
            if not _NAME.fullmatch(name):
                raise LocalProtocolError(f"illegal header name {name[:100]!r}")
            if b"\r" in value or b"\n" in value or b"\0" in value:
                raise LocalProtocolError(f"illegal header value for {name.decode('ascii')}")
            parts += (name, b": ", value.strip(b" \t"), b"\r\n")
        parts.append(b"\r\n")
        self._set_timeout(timeouts.write)
        try:
            self._sock.sendall(b"".join(parts))
        except TimeoutError as exc:
            raise WriteTimeout("timed out") from exc
        except OSError as exc:
            if self.used and not isinstance(exc, TimeoutError):
                raise _Stale(str(exc)) from exc
            raise WriteError(_oserror(exc)) from exc

    def read_head(self, timeouts: Timeouts, request_close: bool) -> Head:
        """The final answer's head (informational 1xx answers are skipped)."""
        self._set_timeout(timeouts.read)
        while True:
            head = self._head()
            if not (100 <= head.status < 200) or head.status == 101:
                break
        if request_close:
            head.keep_alive = False
        return head

    def _head(self) -> Head:
        buffer = self._buffer
        start = 0
        while True:
            found = _HEAD_END.search(buffer, start)
            if found is not None:
                break
            if len(buffer) > MAX_HEAD:
                raise RemoteProtocolError(f"the response head is larger than {MAX_HEAD // 1024} KiB")
            start = max(0, len(buffer) - 3)
            if not self._fill():
                if not buffer and self.used:
                    raise _Stale("the server closed the connection")
                if not buffer:
                    raise RemoteProtocolError("Server disconnected without sending a response.")
                raise RemoteProtocolError("the server closed the connection in the middle of the response head")
        if found.start() > MAX_HEAD:
            raise RemoteProtocolError(f"the response head is larger than {MAX_HEAD // 1024} KiB")
        lines = bytes(buffer[: found.start()]).split(b"\n")
        del buffer[: found.end()]
        status = _STATUS.fullmatch(lines[0])
        if status is None:
            raise RemoteProtocolError(f"malformed status line {lines[0][:100]!r}")
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            field = _HEADER.fullmatch(line)
            if field is not None:
                headers.append((field.group(1), field.group(2)))
                continue
            fold = _FOLD.fullmatch(line) if headers else None  # obs-fold: a continuation
            if fold is None:
                raise RemoteProtocolError(f"malformed header line {line[:100]!r}")
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + fold.group(1) if fold.group(1) else value)
        return _frame(
            int(status.group(2)),
            (status.group(3) or b"").decode("ascii", errors="ignore"),
            headers,
            status.group(1) == b"1.1",
        )

    def body(self, head: Head) -> Iterator[bytes]:
        """The body in pieces as they arrive; ``self.used`` counts it once read to its
        end.  Raises RemoteProtocolError when the connection ends before the body does."""
        if head.chunked:
            yield from self._chunked()
        elif head.length is not None:
            remaining = head.length
            while remaining:
                piece = self._read(min(remaining, RECV))
                if not piece:
                    raise RemoteProtocolError(
                        "peer closed connection without sending complete message body: "
                        f"received {head.length - remaining} bytes, expected {head.length}"
                    )
                remaining -= len(piece)
                yield piece
        else:  # to the end of the connection
            head.keep_alive = False
            while True:
                piece = self._read(RECV)
                if not piece:
                    break
                yield piece
        self.used += 1
        self.idle_since = time.monotonic()
        if not head.keep_alive or self._buffer:  # more than the answer arrived: drop it
            self.close()

    def _chunked(self) -> Iterator[bytes]:
        while True:
            line = self._line(MAX_CHUNK_LINE, "chunk size")
            size_match = _CHUNK_SIZE.fullmatch(line)
            if size_match is None:
                raise RemoteProtocolError(f"malformed chunk size line {line[:100]!r}")
            size = int(size_match.group(1), 16)
            if size == 0:
                break
            while size:
                piece = self._read(min(size, RECV))
                if not piece:
                    raise RemoteProtocolError(
                        "peer closed connection without sending complete message body: incomplete chunked read"
                    )
                size -= len(piece)
                yield piece
            if self._line(2, "chunk end") not in (b"\r\n", b"\n"):
                raise RemoteProtocolError("a chunk longer than its size line said")
        trailers = 0
        while True:  # trailer fields, up to an empty line
            line = self._line(MAX_HEAD, "trailer")
            trailers += len(line)
            if line in (b"\r\n", b"\n"):
                return
            if trailers > MAX_HEAD:
                raise RemoteProtocolError(f"the trailers are larger than {MAX_HEAD // 1024} KiB")

    # -- reading ------------------------------------------------------------------------
    def _fill(self) -> bool:
        """One ``recv`` into the buffer; False at the end of the connection."""
        try:
            data = self._sock.recv(RECV)
        except TimeoutError as exc:
            raise ReadTimeout("timed out") from exc
        except OSError as exc:
            if self.used and not self._buffer and isinstance(exc, ConnectionResetError):
                raise _Stale(str(exc)) from exc
            raise ReadError(_oserror(exc)) from exc
        if not data:
            return False
        self._buffer += data
        return True

    def _read(self, most: int) -> bytes:
        """Up to ``most`` bytes: what is buffered, else one ``recv``; b"" at the end."""
        buffer = self._buffer
        if buffer:
            piece = bytes(buffer[:most])
            del buffer[:most]
            return piece
        try:
            return self._sock.recv(most)
        except TimeoutError as exc:
            raise ReadTimeout("timed out") from exc
        except OSError as exc:
            raise ReadError(_oserror(exc)) from exc

    def _line(self, most: int, what: str) -> bytes:
        """One line, its ending included, of at most ``most`` bytes."""
        buffer = self._buffer
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end >= 0:
                if end + 1 > most:
                    break
                line = bytes(buffer[: end + 1])
                del buffer[: end + 1]
                return line
            if len(buffer) > most:
                break
            start = len(buffer)
            if not self._fill():
                raise RemoteProtocolError(
                    "peer closed connection without sending complete message body: incomplete chunked read"
                )
        raise RemoteProtocolError(f"a {what} line longer than {most} bytes")


def _frame(status: int, reason: str, headers: list[tuple[bytes, bytes]], http11: bool) -> Head:
    """How the body is delimited (RFC 9112, section 6.3), and whether the connection may
    serve another request."""
    connection = b""
    transfer: bytes | None = None
    lengths: list[bytes] = []
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-length":
            lengths += (part.strip() for part in value.split(b","))
        elif lower == b"transfer-encoding":
            transfer = value if transfer is None else transfer + b", " + value
        elif lower == b"connection":
            connection += b"," + value.lower()
    keep_alive = http11 and b"close" not in (token.strip() for token in connection.split(b","))
    if 100 <= status < 200 or status in (204, 304):
        return Head(status, reason, headers, 0, False, keep_alive and status != 101)
    if transfer is not None:
        if transfer.strip().lower() != b"chunked":
            raise RemoteProtocolError(f"unsupported Transfer-Encoding {transfer[:100]!r}")
        # with a Content-Length as well, the answer is chunked and the connection is not
        # reused: the two framings disagree (RFC 9112, section 6.3)
        return Head(status, reason, headers, None, True, keep_alive and not lengths)
    if lengths:
        if len(set(lengths)) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 18:
            raise RemoteProtocolError(f"bad Content-Length {b', '.join(lengths)[:100]!r}")
        return Head(status, reason, headers, int(lengths[0]), False, keep_alive)
    return Head(status, reason, headers, None, False, False)


def _oserror(exc: OSError) -> str:
    return str(exc) or type(exc).__name__
