"""Specification: :class:`ftlock.index.connections.DirectPool`, the keep-alive pool behind
:class:`ftlock.index.http.Http` for direct (unproxied) requests.

It must do what httpcore's ``ConnectionPool`` did for ftlock: reuse one connection per
origin while it stays usable, never hand back a connection a response left half read or
the server closed, keep at most ``max_connections`` requests in flight (``PoolTimeout``
after the request's ``pool`` timeout), give every slot back whatever fails, and close
idle connections on ``close()``.

Every server is a local :class:`~tests.support.hostile.HostileIndex` on 127.0.0.1 that
also counts the TCP connections it accepts and how many are open at once.  Requests are
built as ``Http._send`` builds them.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest

from ftlock.errors import UsageError
from ftlock.index import transport
from ftlock.index.connections import DirectPool
from ftlock.index.http import Http, _Trust
from tests.support.hostile import Answer, HostileIndex, endless

#: seconds a test waits for the server to notice something; never reached when all is well
PATIENCE = 3.0


class Connections:
    """What the server saw of TCP connections: accepted so far, open now, most open at once."""

    def __init__(self) -> None:
        self.accepted = 0
        self.open = 0
        self.most_open = 0
        self._changed = threading.Condition()

    def opened(self) -> None:
        with self._changed:
            self.accepted += 1
            self.open += 1
            self.most_open = max(self.most_open, self.open)
            self._changed.notify_all()

    def closed(self) -> None:
        with self._changed:
            self.open -= 1
            self._changed.notify_all()

    def wait_open(self, count: int) -> bool:
        """Wait until exactly ``count`` connections are open on the server side."""
        with self._changed:
            return self._changed.wait_for(lambda: self.open == count, timeout=PATIENCE)


class CountingServer(HostileIndex):
    """A :class:`HostileIndex` that counts connections (accepted when the server takes
    them, closed once it has shut its socket) and records which client port sent each
    request."""

    def __init__(self) -> None:
        super().__init__()
        self.connections = Connections()
        self.peers: list[int] = []  # client port of each request, in order
        counter = self.connections

        class Server(ThreadingHTTPServer):
            def process_request(self, request: Any, client_address: Any) -> None:
                counter.opened()
                super().process_request(request, client_address)

            def shutdown_request(self, request: Any) -> None:
                try:
                    super().shutdown_request(request)
                finally:
                    counter.closed()

        self.server_class = Server

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        base = super().handler_class()
        server = self

        class Handler(base):  # type: ignore[valid-type, misc]
            def do_GET(self) -> None:
                with server._lock:
                    server.peers.append(int(self.client_address[1]))
                super().do_GET()

        return cast(type[BaseHTTPRequestHandler], Handler)


@pytest.fixture
def server() -> Iterator[CountingServer]:
    with CountingServer() as started:
        started.route("/", b"hello")
        yield started


@pytest.fixture
def other() -> Iterator[CountingServer]:
    """A second origin: the same host, another port."""
    with CountingServer() as started:
        started.route("/", b"other")
        yield started


@pytest.fixture
def pools() -> Iterator[Any]:
    """``pools(**options)``: a :class:`DirectPool`, closed at teardown."""
    made: list[DirectPool] = []

    def make(**options: Any) -> DirectPool:
        pool = DirectPool(**options)
        made.append(pool)
        return pool

    yield make
    for pool in made:
        pool.close()


def request(
    port: int,
    path: str = "/",
    *,
    scheme: str = "http",
    host: str = "127.0.0.1",
    pool: float = 2.0,
    read: float = 2.0,
    headers: dict[str, str] | None = None,
) -> transport.Request:
    """GET ``path`` on 127.0.0.1:``port``, as ``Http._send`` builds it."""
    sent = [(b"Host", f"127.0.0.1:{port}".encode("ascii"))]
    sent += [(key.encode("ascii"), value.encode("utf-8")) for key, value in (headers or {}).items()]
    return transport.Request(
        scheme, host, port, path.encode("ascii"), sent, transport.Timeouts(2.0, read, 2.0, pool)
    )


def body(response: transport.Response) -> bytes:
    """Read the whole body, then close the response (as ``Http._exchange`` does)."""
    try:
        return b"".join(response)
    finally:
        response.close()


def fetch(pool: DirectPool, req: transport.Request) -> tuple[int, bytes]:
    response = pool.handle_request(req)
    return response.status, body(response)


def assert_slots_free(pool: DirectPool, server: CountingServer, slots: int) -> None:
    """``slots`` requests can be in flight at once: none was kept by an earlier failure."""
    responses = [pool.handle_request(request(server.port, pool=0.2)) for _ in range(slots)]
    assert [body(response) for response in responses] == [b"hello"] * slots


def refused_port() -> socket.socket:
    """A socket bound on 127.0.0.1 that does not listen: connecting to its port is refused
    for as long as it stays open."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


# --------------------------------------------------------------------------------------
# keep-alive
# --------------------------------------------------------------------------------------


def test_sequential_requests_to_one_origin_share_one_connection(server, pools):
    pool = pools()
    results = [fetch(pool, request(server.port)) for _ in range(5)]
    assert results == [(200, b"hello")] * 5
    assert server.connections.accepted == 1
    assert len(server.peers) == 5 and len(set(server.peers)) == 1
    assert server.connections.open == 1  # kept for the next request


def test_each_origin_keeps_its_own_connection(server, other, pools):
    pool = pools()
    results = [fetch(pool, request(port)) for _ in range(3) for port in (server.port, other.port)]
    assert results == [(200, b"hello"), (200, b"other")] * 3
    assert server.connections.accepted == 1
    assert other.connections.accepted == 1


def test_a_connection_is_reused_by_another_thread_once_its_response_is_closed(server, pools):
    pool = pools()
    assert fetch(pool, request(server.port)) == (200, b"hello")
    results: list[tuple[int, bytes]] = []
    worker = threading.Thread(target=lambda: results.append(fetch(pool, request(server.port))))
    worker.start()
    worker.join(PATIENCE)
    assert results == [(200, b"hello")]
    assert server.connections.accepted == 1


# --------------------------------------------------------------------------------------
# connections that must not be reused
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, read_first",
    [
        pytest.param(Answer(b"x" * 100), False, id="small-body-unread"),
        pytest.param(Answer(b"x" * (1024 * 1024)), True, id="large-body-one-chunk-read"),
        pytest.param(endless(b"y" * 1024), True, id="endless-chunked-body-one-chunk-read"),
    ],
)
def test_a_response_closed_before_its_end_does_not_give_its_connection_back(
    server, pools, answer, read_first
):
    server.route("/big", answer)
    pool = pools(max_connections=1)
    response = pool.handle_request(request(server.port, "/big"))
    assert response.status == 200
    if read_first:
        first = next(iter(response))
        assert first and set(first) <= set(b"xy")
    response.close()
    assert server.connections.wait_open(0)  # the half-read connection was closed
    assert fetch(pool, request(server.port, pool=0.2)) == (200, b"hello")
    assert server.connections.accepted == 2
    assert server.peers[0] != server.peers[1]


def test_a_connection_the_server_said_it_closes_is_not_reused(server, pools):
    server.route("/bye", Answer(b"bye", headers={"Connection": "close"}))
    pool = pools(max_connections=1)
    assert fetch(pool, request(server.port, "/bye")) == (200, b"bye")
    assert fetch(pool, request(server.port)) == (200, b"hello")
    assert server.connections.accepted == 2
    assert server.peers[0] != server.peers[1]


@pytest.mark.parametrize("has_poll", [True, False], ids=["poll", "select-only-as-on-windows"])
def test_a_keep_alive_connection_the_server_dropped_while_idle_is_replaced(server, pools, monkeypatch, has_poll):
    # a chunked answer without "Connection: close", after which the server hangs up: the
    # client read the whole body and kept the connection, then the server closed it
    if not has_poll:
        import select

        monkeypatch.delattr(select, "poll", raising=False)  # Windows has select() only
    server.route("/once", Answer(lambda: [b"first"]))
    pool = pools(max_connections=1)
    assert fetch(pool, request(server.port, "/once")) == (200, b"first")
    assert server.connections.wait_open(0)
    assert fetch(pool, request(server.port)) == (200, b"hello")
    assert fetch(pool, request(server.port)) == (200, b"hello")
    assert server.connections.accepted == 2
    assert server.peers[1] == server.peers[2] != server.peers[0]


def test_an_idle_connection_past_keepalive_expiry_is_closed_and_replaced(server, pools):
    pool = pools(keepalive_expiry=0.05)
    assert fetch(pool, request(server.port)) == (200, b"hello")
    time.sleep(0.1)
    assert fetch(pool, request(server.port)) == (200, b"hello")
    assert server.connections.accepted == 2
    assert server.connections.wait_open(1)  # the expired one was closed, not leaked


# --------------------------------------------------------------------------------------
# max_connections
# --------------------------------------------------------------------------------------


def test_a_request_over_max_connections_times_out_after_the_pool_timeout(server, pools):
    pool = pools(max_connections=1)
    first = pool.handle_request(request(server.port))
    with pytest.raises(transport.PoolTimeout):
        pool.handle_request(request(server.port, pool=0.2))
    assert body(first) == b"hello"
    assert fetch(pool, request(server.port, pool=0.2)) == (200, b"hello")
    assert server.connections.accepted == 1
    assert len(server.peers) == 2  # the request that timed out was never sent


def test_a_request_over_max_connections_waits_for_a_response_to_close(server, pools):
    pool = pools(max_connections=1)
    first = pool.handle_request(request(server.port))
    results: list[tuple[int, bytes]] = []
    waiting = threading.Thread(target=lambda: results.append(fetch(pool, request(server.port))))
    waiting.start()
    waiting.join(0.2)
    assert results == [] and waiting.is_alive()
    assert len(server.peers) == 1  # the second request is not sent while the first is open
    assert body(first) == b"hello"
    waiting.join(PATIENCE)
    assert results == [(200, b"hello")]
    assert server.connections.accepted == 1


def test_concurrent_threads_get_their_own_bodies_within_max_connections(server, pools):
    server.route("/echo", lambda headers: Answer(headers["x-id"].encode() * 500))
    pool = pools(max_connections=4)
    wrong: list[str] = []
    failed: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            for n in range(10):
                tag = f"<{thread}:{n}>"
                status, got = fetch(pool, request(server.port, "/echo", headers={"X-Id": tag}))
                if status != 200 or got != tag.encode() * 500:
                    wrong.append(tag)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failed.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE * 3)
    assert failed == [] and wrong == []
    assert server.asked("/echo") == 80
    assert server.connections.most_open <= 4
    assert server.connections.accepted <= 4  # and they were kept and reused
    assert_slots_free(pool, server, 4)


# --------------------------------------------------------------------------------------
# failures give their slot back
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scheme, host, message",
    [
        ("ftp", "127.0.0.1", "Request URL has an unsupported protocol 'ftp://'."),
        ("", "", "Request URL is missing an 'http://' or 'https://' protocol."),
        ("http", "", "Request URL is missing a host."),
    ],
)
def test_an_unsupported_url_is_refused_and_takes_no_slot(server, pools, scheme, host, message):
    pool = pools(max_connections=1)
    with pytest.raises(transport.UnsupportedProtocol) as refused:
        pool.handle_request(request(server.port, scheme=scheme, host=host))
    assert str(refused.value) == message
    assert server.connections.accepted == 0
    assert_slots_free(pool, server, 1)


def test_a_refused_connection_gives_its_slot_back(server, pools):
    pool = pools(max_connections=1)
    closed = refused_port()
    try:
        with pytest.raises(transport.ConnectError):
            pool.handle_request(request(closed.getsockname()[1]))
    finally:
        closed.close()
    assert_slots_free(pool, server, 1)


def test_a_read_timeout_gives_its_slot_back_and_drops_the_connection(server, pools):
    release = threading.Event()

    def late(_headers: dict[str, str]) -> Answer:
        release.wait(PATIENCE)
        return Answer(b"late")

    server.route("/late", late)
    pool = pools(max_connections=1)
    try:
        with pytest.raises(transport.ReadTimeout):
            pool.handle_request(request(server.port, "/late", read=0.2))
        assert fetch(pool, request(server.port, pool=0.2)) == (200, b"hello")
        assert server.connections.accepted == 2  # the timed-out connection was not reused
    finally:
        release.set()


def test_a_body_cut_short_fails_and_gives_its_slot_back_on_close(server, pools):
    def cut() -> Iterator[bytes]:
        yield b"part"
        raise ConnectionResetError("the server hangs up mid-body")

    server.route("/cut", Answer(cut))
    pool = pools(max_connections=1)
    response = pool.handle_request(request(server.port, "/cut"))
    with pytest.raises(transport.RemoteProtocolError):
        body(response)  # reads, fails, closes
    assert fetch(pool, request(server.port, pool=0.2)) == (200, b"hello")
    assert server.connections.accepted == 2


def test_closing_a_response_twice_gives_its_slot_back_once(server, pools):
    pool = pools(max_connections=1)
    response = pool.handle_request(request(server.port))
    assert body(response) == b"hello"
    response.close()
    # one slot, not two: a second request is still refused while one is open
    held = pool.handle_request(request(server.port))
    with pytest.raises(transport.PoolTimeout):
        pool.handle_request(request(server.port, pool=0.2))
    assert body(held) == b"hello"


# --------------------------------------------------------------------------------------
# close()
# --------------------------------------------------------------------------------------


def test_close_closes_idle_connections(server, pools):
    pool = pools()
    first = pool.handle_request(request(server.port))
    second = pool.handle_request(request(server.port))
    assert [body(first), body(second)] == [b"hello", b"hello"]
    assert server.connections.accepted == 2
    assert server.connections.open == 2  # both kept, idle
    pool.close()
    assert server.connections.wait_open(0)


def test_a_response_open_during_close_is_readable_and_its_connection_not_kept(server, pools):
    pool = pools()
    in_flight = pool.handle_request(request(server.port))
    assert fetch(pool, request(server.port)) == (200, b"hello")  # a second, now idle
    assert server.connections.open == 2
    pool.close()
    assert server.connections.wait_open(1)  # the idle one
    assert body(in_flight) == b"hello"
    assert server.connections.wait_open(0)  # closed with its response, not kept


def test_requests_after_close_are_served_on_connections_that_are_not_kept(server, pools):
    pool = pools(max_connections=1)
    pool.close()
    assert fetch(pool, request(server.port, pool=0.2)) == (200, b"hello")
    assert server.connections.wait_open(0)
    assert fetch(pool, request(server.port, pool=0.2)) == (200, b"hello")
    assert server.connections.wait_open(0)
    assert server.connections.accepted == 2


# --------------------------------------------------------------------------------------
# TLS trust: asked for only by https connections, loaded once, failing in one line
# --------------------------------------------------------------------------------------


def test_plain_http_requests_never_ask_for_the_tls_context(server, pools):
    asked: list[int] = []
    pool = pools(ssl_context=lambda: asked.append(1) or ssl.create_default_context())
    assert fetch(pool, request(server.port)) == (200, b"hello")
    assert asked == []


def test_an_https_connection_asks_for_the_tls_context(server, pools):
    asked: list[int] = []
    pool = pools(ssl_context=lambda: asked.append(1) or ssl.create_default_context())
    with pytest.raises(transport.ConnectError):  # the local server speaks no TLS
        pool.handle_request(request(server.port, scheme="https"))
    assert asked == [1]
    assert_slots_free(pool, server, 1)


def test_a_solve_against_plain_http_loads_no_ca_certificates(server):
    http = Http(load_trust=False, retries=0)
    try:
        assert http.get(f"http://127.0.0.1:{server.port}/").body == b"hello"
        assert http._trust._loader is None
    finally:
        http.close()


def test_ca_certificates_that_cannot_be_loaded_are_a_one_line_usage_error(tmp_path):
    broken = tmp_path / "ca.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    trust = _Trust(None, str(broken), None)
    with pytest.raises(UsageError) as failed:
        trust.get()
    assert str(failed.value).startswith(f"cannot load CA certificates from {broken}: ")
    assert "\n" not in str(failed.value)
