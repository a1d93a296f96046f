"""Specification: :mod:`ftlock.index.h1`, the HTTP/1.1 protocol under
:class:`~ftlock.index.connections.DirectPool`.

The server is untrusted.  Every answer here is raw bytes from a scripted socket server on
127.0.0.1, so each test states exactly what came over the wire: framings a real server
may use (chunked with extensions and trailers, folded headers, informational answers,
a body that runs to the close) must be read as HTTP/1.1 says, and anything malformed or
oversized must fail as a :class:`~ftlock.index.transport.RemoteProtocolError` without
being read into memory.  A connection is reused only when nothing about its last answer
could have left it out of step.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from ftlock.index import transport
from ftlock.index.connections import DirectPool
from ftlock.index.h1 import MAX_HEAD

#: one scripted step: bytes to send after reading a request, or CLOSE
CLOSE = None


class HangUp(bytes):
    """A step sent, after which the server closes the connection at once."""


class Scripted:
    """A TCP server on 127.0.0.1: the n-th connection it accepts plays ``scripts[n]``,
    answering each request it reads (up to the blank line) with the next step's bytes;
    CLOSE hangs up instead of answering; a :class:`HangUp` step hangs up once sent.  Records every request head."""

    def __init__(self, *scripts: list[bytes | None]) -> None:
        self._scripts = list(scripts)
        self.requests: list[bytes] = []
        self.accepted = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            script = self._scripts[self.accepted] if self.accepted < len(self._scripts) else [CLOSE]
            self.accepted += 1
            threading.Thread(target=self._play, args=(conn, script), daemon=True).start()

    def _play(self, conn: socket.socket, script: list[bytes | None]) -> None:
        with conn:
            pending = b""
            for step in script:
                while b"\r\n\r\n" not in pending:
                    data = conn.recv(65536)
                    if not data:
                        return
                    pending += data
                head, _, pending = pending.partition(b"\r\n\r\n")
                self.requests.append(head)
                if step is CLOSE:
                    return
                conn.sendall(step)
                if isinstance(step, HangUp):
                    return
            # the script is played: wait for the client to hang up
            while conn.recv(65536):
                pass

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def serve() -> Iterator[object]:
    made: list[Scripted] = []
    pools: list[DirectPool] = []

    def start(*scripts: list[bytes | None]) -> tuple[Scripted, DirectPool]:
        server = Scripted(*scripts)
        pool = DirectPool(max_connections=2)
        made.append(server)
        pools.append(pool)
        return server, pool

    yield start
    for pool in pools:
        pool.close()
    for server in made:
        server.close()


def get(pool: DirectPool, port: int, path: str = "/", headers: list[tuple[bytes, bytes]] | None = None) -> tuple[transport.Response, bytes]:
    request = transport.Request(
        "http", "127.0.0.1", port, path.encode("ascii"), headers or [], transport.Timeouts.all(2.0)
    )
    response = pool.handle_request(request)
    try:
        return response, b"".join(response)
    finally:
        response.close()


def ok(body: bytes, *headers: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + b"".join(h + b"\r\n" for h in headers) + b"Content-Length: %d\r\n\r\n" % len(body) + body


# --------------------------------------------------------------------------------------
# framings a server may use
# --------------------------------------------------------------------------------------


def test_a_content_length_body_is_read_and_the_connection_reused(serve):
    server, pool = serve([ok(b"hello"), ok(b"again")])
    assert get(pool, server.port)[1] == b"hello"
    assert get(pool, server.port)[1] == b"again"
    assert server.accepted == 1


def test_a_chunked_body_with_extensions_and_trailers_is_read_and_the_connection_reused(serve):
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: yes\r\n\r\n"
    )
    server, pool = serve([chunked, ok(b"next")])
    assert get(pool, server.port)[1] == b"hello world"
    assert get(pool, server.port)[1] == b"next"
    assert server.accepted == 1


def test_a_body_without_length_runs_to_the_close_and_the_connection_is_not_reused(serve):
    server, pool = serve([HangUp(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")], [ok(b"fresh")])
    assert get(pool, server.port)[1] == b"until the end"
    assert get(pool, server.port)[1] == b"fresh"
    assert server.accepted == 2


def test_an_http_1_0_answer_is_read_and_its_connection_not_reused(serve):
    server, pool = serve([b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold"], [ok(b"new")])
    assert get(pool, server.port)[1] == b"old"
    assert get(pool, server.port)[1] == b"new"
    assert server.accepted == 2


def test_informational_answers_are_skipped(serve):
    server, pool = serve([b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok(b"final")])
    response, body = get(pool, server.port)
    assert (response.status, body) == (200, b"final")


def test_a_folded_header_is_joined_and_names_and_values_kept_as_sent(serve):
    server, pool = serve([b"HTTP/1.1 200 Fine Thanks\r\nX-Long: one\r\n  two\r\nETag:\t\"x\"  \r\nContent-Length: 0\r\n\r\n"])
    response, body = get(pool, server.port)
    assert (response.status, response.reason, body) == (200, "Fine Thanks", b"")
    assert response.headers == [(b"X-Long", b"one two"), (b"ETag", b'"x"'), (b"Content-Length", b"0")]


def test_a_no_content_answer_has_no_body_and_keeps_the_connection(serve):
    server, pool = serve([b"HTTP/1.1 204 No Content\r\n\r\n", ok(b"then")])
    assert get(pool, server.port)[0].status == 204
    assert get(pool, server.port)[1] == b"then"
    assert server.accepted == 1


def test_connection_close_from_the_server_is_honoured(serve):
    server, pool = serve([ok(b"bye", b"Connection: keep-alive, close")], [ok(b"hi")])
    assert get(pool, server.port)[1] == b"bye"
    assert get(pool, server.port)[1] == b"hi"
    assert server.accepted == 2


# --------------------------------------------------------------------------------------
# connections that are out of step are never reused
# --------------------------------------------------------------------------------------


def test_bytes_beyond_the_answer_drop_the_connection(serve):
    smuggled = ok(b"one") + b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"
    server, pool = serve([smuggled], [ok(b"real")])
    assert get(pool, server.port)[1] == b"one"
    assert get(pool, server.port)[1] == b"real"
    assert server.accepted == 2


def test_chunked_and_a_content_length_together_read_chunked_and_drop_the_connection(serve):
    both = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    server, pool = serve([both], [ok(b"next")])
    assert get(pool, server.port)[1] == b"ok"
    assert get(pool, server.port)[1] == b"next"
    assert server.accepted == 2


def test_a_reused_connection_the_server_closes_instead_of_answering_is_replaced(serve):
    # the server keeps the connection after the first answer, then hangs up on the next
    # request (its keep-alive timer ran out as the request arrived): sent again, answered
    server, pool = serve([ok(b"first"), CLOSE], [ok(b"second")])
    assert get(pool, server.port)[1] == b"first"
    assert get(pool, server.port)[1] == b"second"
    assert server.accepted == 2
    assert len(server.requests) == 3


def test_a_new_connection_closed_before_any_answer_is_an_error_not_a_retry(serve):
    server, pool = serve([CLOSE], [ok(b"never")])
    with pytest.raises(transport.RemoteProtocolError, match="without sending a response"):
        get(pool, server.port)
    assert server.accepted == 1


# --------------------------------------------------------------------------------------
# malformed or oversized answers
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, message",
    [
        pytest.param(b"HTTP/1.1 OK\r\n\r\n", "malformed status line", id="no-status-code"),
        pytest.param(b"ICY 200 OK\r\n\r\n", "malformed status line", id="not-http"),
        pytest.param(b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", "malformed header line", id="no-colon"),
        pytest.param(b"HTTP/1.1 200 OK\r\nName : value\r\n\r\n", "malformed header line", id="space-before-colon"),
        pytest.param(b"HTTP/1.1 200 OK\r\n folded first\r\n\r\n", "malformed header line", id="fold-first"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n", "malformed header line", id="nul-in-value"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello", "bad Content-Length", id="two-lengths"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length", id="negative-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", "bad Content-Length", id="hex-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported Transfer-Encoding", id="gzip-transfer"),
    ],
)
def test_a_malformed_head_is_a_remote_protocol_error(serve, answer, message):
    server, pool = serve([answer])
    with pytest.raises(transport.RemoteProtocolError, match=message):
        get(pool, server.port)


def test_a_head_larger_than_the_limit_fails_without_reading_on(serve):
    endless_header = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * (MAX_HEAD + 1)
    server, pool = serve([endless_header])
    with pytest.raises(transport.RemoteProtocolError, match="head is larger than 100 KiB"):
        get(pool, server.port)


@pytest.mark.parametrize(
    "body, message",
    [
        pytest.param(b"zz\r\nhello\r\n0\r\n\r\n", "malformed chunk size", id="not-hex"),
        pytest.param(b"5" * 5000 + b"\r\n", "chunk size line longer", id="endless-size-line"),
        pytest.param(b"3\r\nhello\r\n0\r\n\r\n", "chunk end line longer|longer than its size", id="chunk-longer-than-said"),
        pytest.param(b"5\r\nhel", "incomplete chunked read", id="cut-in-a-chunk"),
    ],
)
def test_a_broken_chunked_body_is_a_remote_protocol_error(serve, body, message):
    server, pool = serve([HangUp(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)])
    with pytest.raises(transport.RemoteProtocolError, match=message):
        get(pool, server.port)


def test_a_body_shorter_than_its_content_length_is_an_error_not_a_short_body(serve):
    server, pool = serve([HangUp(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")])
    with pytest.raises(transport.RemoteProtocolError, match="received 4 bytes, expected 10"):
        get(pool, server.port)


# --------------------------------------------------------------------------------------
# what ftlock sends
# --------------------------------------------------------------------------------------


def test_the_request_is_one_get_with_host_first_and_the_headers_in_order(serve):
    server, pool = serve([ok(b"")])
    get(pool, server.port, "/simple/a/?x=1", [(b"Accept", b"*/*"), (b"User-Agent", b"ftlock/test")])
    assert server.requests == [
        b"GET /simple/a/?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: */*\r\nUser-Agent: ftlock/test" % server.port
    ]


@pytest.mark.parametrize(
    "headers, path",
    [
        pytest.param([(b"Cookie", b"a=1\r\nX-Injected: yes")], "/", id="crlf-in-value"),
        pytest.param([(b"Cookie", b"a=1\nX-Injected: yes")], "/", id="lf-in-value"),
        pytest.param([(b"Bad Name", b"x")], "/", id="space-in-name"),
        pytest.param([], "/a b", id="space-in-target"),
    ],
)
def test_a_request_that_could_add_lines_is_refused_before_anything_is_sent(serve, headers, path):
    server, pool = serve([ok(b"")])
    with pytest.raises(transport.LocalProtocolError):
        get(pool, server.port, path, headers)
    assert server.requests == []
