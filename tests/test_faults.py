"""Specification: how ftlock behaves when the index, or the network in front of it, fails.

Every test puts a :class:`~tests.support.faults.FaultProxy` between ftlock and a local
index and injects one kind of failure.  Whatever happens, there is **a correct lock, or
none**: a run that succeeds writes exactly the lock a fault-free run writes; a run that
fails prints one ``error:`` line, leaves the existing output file untouched and leaves no
temporary file beside it.

Transient failures (5xx, 429, resets, timeouts, truncated bodies) are retried, bounded by
``--retries``; shortcuts that fail fall back (PEP 658 → range requests → full download);
everything else stops with one line.  Runs use ``--retries 1 --timeout 1`` and
``FTLOCK_RETRY_BACKOFF=0`` so the suite stays fast.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

import pytest

from tests.support.dists import build_sdist, build_wheel
from tests.support.faults import (
    FaultProxy,
    body,
    content_type,
    garble_range,
    ignore_range,
    reset,
    slow,
    status,
    truncate,
)

PREVIOUS = "previous lock\n"
PAGE = "/simple/app/"
LIB_WHEEL = "lib-1.1-py3-none-any.whl"
META = f"/files/{LIB_WHEEL}.metadata"
WHEEL = f"/files/{LIB_WHEEL}"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTLOCK_RETRY_BACKOFF", "0")


def app_index(local_index, dists_dir: Path, **options):  # type: ignore[no-untyped-def]
    """app 1.0 -> lib>=1; lib 1.0 and 1.1 (padded, so range requests matter)."""
    index = local_index(**options)
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["lib>=1"]))
    index.add(build_wheel(dists_dir, "lib", "1.0"))
    index.add(build_wheel(dists_dir, "lib", "1.1", padding_files=10))
    return index


class Scenario:
    """One proxy, one output file; ``run()`` solves ``app`` through the proxy."""

    def __init__(self, proxy: FaultProxy, ftlock, out: Path) -> None:  # type: ignore[no-untyped-def]
        self.proxy = proxy
        self.ftlock = ftlock
        self.out = out
        self.expected = ""

    def run(self, *extra: str, retries: int = 1, timeout: float = 1, cache: bool = False):  # type: ignore[no-untyped-def]
        args = ["solve", "app", *extra, "--index-url", self.proxy.url]
        args += ["--retries", str(retries), "--timeout", str(timeout)]
        if not cache:
            args.append("--no-cache")
        return self.ftlock(*args, output=self.out)

    def baseline(self) -> Scenario:
        """The lock a fault-free run writes; then the output holds a 'previous' lock."""
        first = self.run()
        assert first.exit_code == 0, first.stderr
        self.expected = self.out.read_text()
        self.out.write_text(PREVIOUS)
        self.proxy.clear()
        return self

    def succeeded(self, result) -> None:  # type: ignore[no-untyped-def]
        assert result.exit_code == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert self.out.read_text() == self.expected
        assert os.listdir(self.out.parent) == [self.out.name]

    def failed(self, result, exit_code: int = 1) -> str:  # type: ignore[no-untyped-def]
        assert result.exit_code == exit_code, result.stderr
        line = one_line_error(result)
        assert self.out.read_text() == PREVIOUS
        assert os.listdir(self.out.parent) == [self.out.name]
        return line


@pytest.fixture
def scenario(local_index, dists_dir, proxies, ftlock, tmp_path) -> Scenario:  # type: ignore[no-untyped-def]
    """PEP 658 index behind a proxy, baseline lock taken."""
    (tmp_path / "lockdir").mkdir()
    proxy = proxies(app_index(local_index, dists_dir, pep658=True))
    return Scenario(proxy, ftlock, tmp_path / "lockdir" / "out.txt").baseline()


@pytest.fixture
def range_scenario(local_index, dists_dir, proxies, ftlock, tmp_path) -> Scenario:  # type: ignore[no-untyped-def]
    """No PEP 658: metadata comes from range requests into the wheels."""
    (tmp_path / "lockdir").mkdir()
    proxy = proxies(app_index(local_index, dists_dir, pep658=False))
    return Scenario(proxy, ftlock, tmp_path / "lockdir" / "out.txt").baseline()


# --------------------------------------------------------------------------------------
# transient failures: retried, bounded
# --------------------------------------------------------------------------------------

TRANSIENT = {
    "http-500": status(500),
    "http-502": status(502),
    "http-503": status(503),
    "http-429": status(429, retry_after=0),
    "connection-reset": reset(),
    "truncated-body": truncate(),
    "slower-than-timeout": slow(1.5),
}


@pytest.mark.parametrize("where", [PAGE, META], ids=["page", "pep658-metadata"])
@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_transient_fault_once_is_retried_and_gives_the_same_lock(scenario, fault, where):
    scenario.proxy.inject(where, TRANSIENT[fault], times=1)

    result = scenario.run()

    scenario.succeeded(result)
    assert scenario.proxy.count(where) == 2
    assert scenario.proxy.count(where, fault=TRANSIENT[fault].kind) == 1


@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_transient_fault_that_outlasts_the_retries_fails_with_one_line(scenario, fault):
    scenario.proxy.inject(PAGE, TRANSIENT[fault], times=None)

    result = scenario.run()  # --retries 1: two attempts in all

    line = scenario.failed(result)
    assert f"{scenario.proxy.url}/app/" in line
    assert "(2 attempts)" in line
    assert scenario.proxy.count(PAGE) == 2


def test_a_truncated_body_is_reported_as_a_broken_connection(scenario):
    scenario.proxy.inject(PAGE, truncate(), times=None)

    line = scenario.failed(scenario.run())

    assert "the connection broke off" in line
    assert "received" in line  # httpx: "received N bytes, expected M"


@pytest.mark.parametrize("retries", [0, 3])
def test_retries_are_bounded_by_the_retries_option(scenario, retries):
    scenario.proxy.inject(PAGE, status(503), times=None)

    line = scenario.failed(scenario.run(retries=retries))

    assert "HTTP 503" in line
    assert scenario.proxy.count(PAGE) == retries + 1


def test_the_timeout_option_bounds_each_request(scenario):
    scenario.proxy.inject(PAGE, slow(4), times=None)
    started = time.monotonic()

    line = scenario.failed(scenario.run(retries=0, timeout=1))

    assert time.monotonic() - started < 3.5
    assert line == f"error: {scenario.proxy.url}/app/: no answer within --timeout 1s"


def test_retry_after_is_honoured(scenario):
    scenario.proxy.inject(PAGE, status(429, retry_after=1), times=1)
    started = time.monotonic()

    result = scenario.run()

    scenario.succeeded(result)
    assert time.monotonic() - started >= 1.0


def test_a_retry_after_too_long_to_wait_for_fails_at_once_saying_so(scenario):
    scenario.proxy.inject(PAGE, status(429, retry_after=3600), times=None)

    line = scenario.failed(scenario.run(retries=3))

    assert "HTTP 429" in line and "retry after 3600s" in line
    assert scenario.proxy.count(PAGE) == 1


@pytest.mark.parametrize("code", [403, 405])  # (a 404 page means "not on this index")
def test_a_client_error_is_not_retried(scenario, code):
    scenario.proxy.inject(PAGE, status(code), times=None)

    line = scenario.failed(scenario.run(retries=3))

    assert f"HTTP {code}" in line
    assert scenario.proxy.count(PAGE) == 1


def test_a_direct_reference_download_is_retried_too(scenario):
    url = f"{scenario.proxy.base_url}/files/lib-1.0-py3-none-any.whl"
    scenario.proxy.inject("/files/lib-1.0-py3-none-any.whl", status(503), times=1)

    result = scenario.ftlock(
        "solve", f"lib @ {url}", "--no-cache", "--retries", "1", "--timeout", "1",
        output=scenario.out,
    )

    assert result.exit_code == 0, result.stderr
    assert scenario.proxy.count("/files/lib-1.0-py3-none-any.whl") == 2


def test_a_prefetch_that_fails_once_does_not_poison_the_solve(scenario):
    """The prefetcher and the solver share one future per page: a retried fetch is one
    fetch, seen by both."""
    scenario.proxy.inject("/simple/lib/", reset(), times=1)

    scenario.succeeded(scenario.run())
    assert scenario.proxy.count("/simple/lib/") == 2


# --------------------------------------------------------------------------------------
# shortcuts that fail fall back: PEP 658 -> range requests -> full download
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [status(404), status(403), status(500)], ids=["404", "403", "500"])
def test_a_pep658_file_that_cannot_be_had_falls_back_to_range_requests(scenario, fault):
    scenario.proxy.inject(META, fault, times=None)

    scenario.succeeded(scenario.run())

    reads = [r for r in scenario.proxy.log if r.path == WHEEL]
    assert reads and all(r.range is not None for r in reads)


def _advertise_metadata_without_hash(page: bytes) -> bytes:
    return re.sub(
        rb'("(?:core-metadata|dist-info-metadata)":\s*)\{\s*"sha256":\s*"[0-9a-f]*"\s*\}',
        rb"\1true",
        page,
    )


def test_an_unparseable_pep658_file_without_a_hash_falls_back_to_range_requests(scenario):
    scenario.proxy.inject("/simple/lib/", body(_advertise_metadata_without_hash), times=None)
    scenario.proxy.inject(META, body(b"<html>Service temporarily unavailable</html>"), times=None)

    scenario.succeeded(scenario.run())

    assert scenario.proxy.count(META) == 1
    assert scenario.proxy.count(WHEEL) >= 1


def test_a_pep658_file_whose_hash_does_not_match_is_an_error_and_is_never_cached(scenario):
    scenario.proxy.inject(META, body(lambda b: b + b"Requires-Dist: evil\n"), times=1)

    line = scenario.failed(scenario.run(cache=True))

    assert f"{LIB_WHEEL}.metadata does not match the hash the index advertised" in line
    # nothing from the bad run was kept: the next run fetches the metadata again, correctly
    scenario.proxy.clear()
    scenario.succeeded(scenario.run(cache=True))
    assert scenario.proxy.count(META) == 1


def test_ranges_the_server_ignores_fall_back_to_one_full_download(range_scenario):
    range_scenario.proxy.inject("/files/*.whl", ignore_range(), times=None)

    range_scenario.succeeded(range_scenario.run())

    assert range_scenario.proxy.count(WHEEL) == 1  # the 200 body is used, not refetched
    assert range_scenario.proxy.count(WHEEL, fault="ignore_range") == 1


@pytest.mark.parametrize(
    "fault", [garble_range(), status(500), status(416)], ids=["garbled-206", "500", "416"]
)
def test_range_answers_that_do_not_work_fall_back_to_the_full_download(range_scenario, fault):
    range_scenario.proxy.inject("/files/*.whl", fault, times=None, ranged=True)

    range_scenario.succeeded(range_scenario.run())

    full = [r for r in range_scenario.proxy.log if r.path == WHEEL and r.range is None]
    assert len(full) == 1


def test_a_full_download_that_does_not_match_the_index_hash_is_an_error(
    local_index, dists_dir, proxies, ftlock, tmp_path
):
    (tmp_path / "lockdir").mkdir()
    upstream = app_index(local_index, dists_dir, pep658=False, ranges=False)
    scenario = Scenario(proxies(upstream), ftlock, tmp_path / "lockdir" / "out.txt").baseline()
    scenario.proxy.inject(WHEEL, body(lambda b: b[:-8] + b"tampered"), times=None)

    line = scenario.failed(scenario.run())

    assert line.startswith(f"error: {LIB_WHEEL}: downloaded file does not match the index's sha256")


def test_a_downloaded_sdist_that_does_not_match_the_index_hash_is_an_error(
    local_index, dists_dir, proxies, ftlock, tmp_path
):
    index = local_index()
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["lib"]))
    sdist = build_sdist(dists_dir, "lib", "1.0", metadata_version="2.2")
    index.add(sdist)
    (tmp_path / "lockdir").mkdir()
    scenario = Scenario(proxies(index), ftlock, tmp_path / "lockdir" / "out.txt").baseline()
    scenario.proxy.inject(f"/files/{sdist.name}", body(lambda b: b + b"\0"), times=None)

    line = scenario.failed(scenario.run())

    assert line.startswith(f"error: {sdist.name}: downloaded file does not match the index's sha256")


# --------------------------------------------------------------------------------------
# wrong content types, malformed pages
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [content_type("application/json"), content_type("text/plain"), content_type("")],
    ids=["application/json", "text/plain", "none"],
)
def test_a_json_page_with_a_wrong_content_type_is_still_read(scenario, fault):
    scenario.proxy.inject("/simple/*", fault, times=None)

    scenario.succeeded(scenario.run())


@pytest.mark.parametrize(
    "fault",
    [content_type("text/plain"), content_type("application/octet-stream"), content_type("")],
    ids=["text/plain", "octet-stream", "none"],
)
def test_an_html_page_with_a_wrong_content_type_is_still_read(
    local_index, dists_dir, proxies, ftlock, tmp_path, fault
):
    (tmp_path / "lockdir").mkdir()
    upstream = app_index(local_index, dists_dir, json=False)
    scenario = Scenario(proxies(upstream), ftlock, tmp_path / "lockdir" / "out.txt").baseline()
    scenario.proxy.inject("/simple/*", fault, times=None)

    scenario.succeeded(scenario.run())


def test_a_page_that_is_neither_json_nor_html_is_an_error(scenario):
    scenario.proxy.inject(
        PAGE, body(b"\x89PNG\r\n\x1a\n\x00\x00", content_type="image/png"), times=None
    )

    line = scenario.failed(scenario.run())

    assert line == (
        f"error: {scenario.proxy.url}/app/: the index answered with 'image/png', "
        "not a PEP 503 or PEP 691 page"
    )


@pytest.mark.parametrize(
    "broken",
    [b'{"meta": {"api-version": "1.1"}, "files": [{"filename": ', b"<html>Bad gateway</html>", b"[]"],
    ids=["cut-json", "html-error-page", "not-an-object"],
)
def test_a_malformed_json_page_is_an_error_and_is_never_cached(scenario, broken):
    scenario.proxy.inject(PAGE, body(broken, content_type=JSON_TYPE), times=1)

    line = scenario.failed(scenario.run(cache=True))

    assert line.startswith(f"error: {scenario.proxy.url}/app/: malformed PEP 691 JSON page")
    scenario.proxy.clear()
    scenario.succeeded(scenario.run(cache=True))
    assert scenario.proxy.count(PAGE) == 1


def test_malformed_html_around_intact_links_is_read(local_index, dists_dir, proxies, ftlock, tmp_path):
    (tmp_path / "lockdir").mkdir()
    upstream = app_index(local_index, dists_dir, json=False)
    scenario = Scenario(proxies(upstream), ftlock, tmp_path / "lockdir" / "out.txt").baseline()

    def mangle(page: bytes) -> bytes:
        page = page.replace(b"</body>", b"<<<&&&><div <p").replace(b"</html>", b"<!-- ")
        return page.replace(b"<head>", b"<head><script>if (a < b) { '</a>' }</script>")

    scenario.proxy.inject("/simple/*", body(mangle), times=None)

    scenario.succeeded(scenario.run())


def test_an_html_page_without_links_fails_naming_the_project(
    local_index, dists_dir, proxies, ftlock, tmp_path
):
    (tmp_path / "lockdir").mkdir()
    upstream = app_index(local_index, dists_dir, json=False)
    scenario = Scenario(proxies(upstream), ftlock, tmp_path / "lockdir" / "out.txt").baseline()
    scenario.proxy.inject(PAGE, body(b"<html><body><h1>Please log in</h1>"), times=None)

    line = scenario.failed(scenario.run())

    assert "app" in line


@pytest.mark.parametrize("json_pages", [True, False], ids=["json", "html"])
def test_a_link_with_a_broken_url_is_skipped(local_index, dists_dir, proxies, ftlock, tmp_path, json_pages):
    (tmp_path / "lockdir").mkdir()
    upstream = app_index(local_index, dists_dir, json=json_pages)
    scenario = Scenario(proxies(upstream), ftlock, tmp_path / "lockdir" / "out.txt").baseline()
    broken = "http://[::1/files/lib-9.0-py3-none-any.whl"  # unclosed IPv6 literal

    def add_broken_link(page: bytes) -> bytes:
        if json_pages:
            entry = f'{{"filename": "lib-9.0-py3-none-any.whl", "url": "{broken}", "hashes": {{}}}}, '
            return page.replace(b'"files": [', b'"files": [' + entry.encode(), 1)
        return page.replace(b"<body>", f'<body><a href="{broken}">lib-9.0-py3-none-any.whl</a>'.encode())

    scenario.proxy.inject("/simple/lib/", body(add_broken_link), times=None)

    scenario.succeeded(scenario.run())


def test_metadata_and_wheels_served_with_odd_content_types_are_read(scenario):
    scenario.proxy.inject("/files/*", content_type("text/html; charset=latin-1"), times=None)

    scenario.succeeded(scenario.run())


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def test_retry_after_accepts_seconds_and_http_dates():
    from email.utils import formatdate

    from ftlock.index.http import _retry_after

    assert _retry_after("7") == 7.0
    assert _retry_after("-3") == 0.0
    assert _retry_after(None) is None
    assert _retry_after("soon") is None
    in_a_minute = _retry_after(formatdate(time.time() + 60, usegmt=True))
    assert in_a_minute is not None and 50 <= in_a_minute <= 61
    assert _retry_after(formatdate(time.time() - 60, usegmt=True)) == 0.0


def test_every_transport_failure_counts_as_transient():
    """Every way a request can get no complete answer (httpx called them
    TransportErrors), and a body that does not decode."""
    from ftlock.index import transport
    from ftlock.index.http import TRANSIENT_ERRORS
    from ftlock.index.wire import DecodingError

    for exc in (
        transport.RemoteProtocolError("peer closed connection without sending complete message body"),
        transport.LocalProtocolError("illegal header"),
        transport.ReadError("reset"),
        transport.WriteError("broken pipe"),
        transport.ReadTimeout("timed out"),
        transport.WriteTimeout("timed out"),
        transport.ConnectTimeout("timed out"),
        transport.PoolTimeout("timed out"),
        transport.ConnectError("refused"),
        transport.ProxyError("407 Proxy Authentication Required"),
        transport.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'."),
        DecodingError("bad gzip"),
    ):
        assert isinstance(exc, TRANSIENT_ERRORS), exc


def test_a_proxy_failure_becomes_the_transport_error_of_the_same_name():
    """Through a proxy, httpcore raises; ``Http`` sees ftlock's exceptions all the same."""
    import httpcore

    from ftlock.index import transport
    from ftlock.index.proxied import _ours

    for kind in (
        httpcore.RemoteProtocolError, httpcore.LocalProtocolError, httpcore.ReadError,
        httpcore.WriteError, httpcore.ReadTimeout, httpcore.WriteTimeout, httpcore.ConnectTimeout,
        httpcore.PoolTimeout, httpcore.ConnectError, httpcore.ProxyError, httpcore.UnsupportedProtocol,
    ):
        mapped = _ours(kind("why"))
        assert type(mapped) is getattr(transport, kind.__name__)
        assert str(mapped) == "why"


def test_a_wheel_read_by_ranges_is_locked_with_the_index_hash(range_scenario):
    """Range reads cannot be hash-checked; the lock carries the index's hash, so pip
    (--require-hashes) refuses a file a mirror tampered with at install time."""
    wheel = range_scenario.proxy.upstream.get_file(LIB_WHEEL)
    assert wheel is not None
    assert f"--hash=sha256:{wheel.sha256}" in range_scenario.expected
    assert hashlib.sha256(wheel.data).hexdigest() == wheel.sha256


# --------------------------------------------------------------------------------------
# DNS: one lookup per host, whatever the number of connections
# --------------------------------------------------------------------------------------


def test_concurrent_connections_to_one_host_look_it_up_once(monkeypatch):
    """16 requests at once need 16 connections; a resolver that stalls 5 s on a lost
    answer made each of them a chance to stall, so the host is looked up once."""
    import socket
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from ftlock.index.http import Http

    started = threading.Barrier(16, timeout=10)

    class Slow(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            started.wait()  # every request is in flight at once: 16 connections
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lookups: list[str] = []
    real = socket.getaddrinfo

    def counting(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        lookups.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    http = Http(max_connections=16)
    try:
        url = f"http://localhost:{server.server_address[1]}/x"
        with ThreadPoolExecutor(16) as pool:
            bodies = list(pool.map(lambda _: http.get(url).body, range(16)))
    finally:
        http.close()
        server.shutdown()

    assert bodies == [b"ok"] * 16
    # connecting to each address looks up the address itself too: no DNS, not counted
    assert [host for host in lookups if not host[:1].isdigit() and ":" not in host] == ["localhost"]
