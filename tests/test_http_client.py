"""Specification: ftlock's HTTP client (:mod:`ftlock.index.http`, on its own HTTP/1.1
connections, httpcore only through a proxy) behaves as the httpx client it replaced.

Redirects (credentials kept on their origin only, plain http refused on every hop, at most
20), ``Content-Encoding`` (gzip, deflate, a bomb cut off at the limit without being
inflated first), proxies from the environment (``NO_PROXY`` respected), response headers
and cookies.  Every server is a local one on 127.0.0.1; other host names only ever reach a
local server acting as the proxy.
"""

from __future__ import annotations

import base64
import gzip
import os
import subprocess
import sys
import tracemalloc
import zlib

import pytest

from ftlock.errors import IndexUnreachable, UsageError
from ftlock.index import wire
from ftlock.index.http import MAX_REDIRECTS, Http, InsecureURL, ResponseTooLarge
from tests.support.cli import error_line
from tests.support.hostile import Answer, HostileIndex, gzip_bomb

MiB = 1024 * 1024
BASIC = "Basic " + base64.b64encode(b"alice:s3cret").decode()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTLOCK_RETRY_BACKOFF", "0")


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with HostileIndex() as started:
        yield started


@pytest.fixture
def other():  # type: ignore[no-untyped-def]
    """A second origin: the same host, another port."""
    with HostileIndex() as started:
        yield started


def http(server: HostileIndex | None = None, **options: object) -> Http:
    credentials = ((server.base_url, "alice", "s3cret"),) if server is not None else ()
    return Http(credentials=credentials, use_netrc=False, retries=0, **options)  # type: ignore[arg-type]


def sent(server: HostileIndex, path: str) -> list[dict[str, str]]:
    return [headers for asked, headers in server.requests if asked == path]


# --------------------------------------------------------------------------------------
# redirects
# --------------------------------------------------------------------------------------


def redirect(location: str, status: int = 302) -> Answer:
    return Answer(b"moved", status=status, headers={"Location": location})


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_relative_redirect_is_followed_with_the_credentials_on_the_same_origin(server, status):
    server.route("/simple/app/", redirect("../../files/page", status))
    server.route("/files/page", b"arrived")
    client = http(server)
    try:
        fetched = client.get(f"{server.base_url}/simple/app/")
    finally:
        client.close()

    assert (fetched.status, fetched.body) == (200, b"arrived")
    assert fetched.url == f"{server.base_url}/files/page"
    assert [h.get("authorization") for h in sent(server, "/simple/app/") + sent(server, "/files/page")] == [BASIC, BASIC]


def test_a_redirect_to_another_origin_drops_the_credentials(server, other):
    server.route("/simple/app/", redirect(f"{other.base_url}/files/page"))
    other.route("/files/page", redirect(f"{server.base_url}/files/back"))
    server.route("/files/back", b"back home")
    client = http(server)
    try:
        fetched = client.get(f"http://alice:s3cret@127.0.0.1:{server.port}/simple/app/".replace("alice:s3cret@", ""))
    finally:
        client.close()

    assert fetched.body == b"back home"
    assert sent(server, "/simple/app/")[0]["authorization"] == BASIC
    assert "authorization" not in sent(other, "/files/page")[0]
    # once dropped, not sent again on the way back (as httpx did)
    assert "authorization" not in sent(server, "/files/back")[0]
    assert sent(other, "/files/page")[0]["host"] == f"127.0.0.1:{other.port}"


def test_credentials_in_the_url_follow_the_same_rule(server, other):
    server.route("/a", redirect(f"{other.base_url}/b"))
    other.route("/b", b"ok")
    client = http()
    try:
        client.get(f"http://bob:pw@127.0.0.1:{server.port}/a")
    finally:
        client.close()

    assert sent(server, "/a")[0]["authorization"] == "Basic " + base64.b64encode(b"bob:pw").decode()
    assert "authorization" not in sent(other, "/b")[0]


@pytest.mark.parametrize(
    ("start", "target", "kept"),
    [
        ("https://pkgs.corp/a", "https://pkgs.corp/b", True),
        ("https://pkgs.corp/a", "https://pkgs.corp:443/b", True),
        ("https://pkgs.corp/a", "http://pkgs.corp/b", False),  # https -> http: dropped
        ("http://pkgs.corp/a", "https://pkgs.corp/b", True),  # the upgrade keeps them
        ("http://pkgs.corp:8080/a", "https://pkgs.corp/b", False),
        ("https://pkgs.corp/a", "https://pkgs.corp:8443/b", False),
        ("https://pkgs.corp/a", "https://files.corp/b", False),
        ("https://PKGS.corp/a", "https://pkgs.CORP/b", True),
    ],
)
def test_which_redirects_keep_the_authorization_header(start, target, kept):
    client = http()
    try:
        headers = client._redirect_headers(
            wire.parse_url(start), wire.parse_url(target),
            [("Host", wire.parse_url(start).netloc), ("Range", "bytes=0-1"), ("Authorization", BASIC)],
        )
    finally:
        client.close()

    assert (("Authorization", BASIC) in headers) is kept
    assert ("Range", "bytes=0-1") in headers  # the caller's headers go along
    assert ("Host", wire.parse_url(target).netloc) in headers


def test_a_redirect_to_plain_http_is_refused_before_it_is_sent(server, monkeypatch):
    with HostileIndex() as proxy:  # files.invalid is reached through it, when allowed
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        proxy.route("http://files.invalid/app.whl", b"wheel")
        server.route("/simple/app/", redirect("http://files.invalid/app.whl"))
        client = http(server)
        allowed = http(server, insecure_hosts=("files.invalid",))
        try:
            with pytest.raises(InsecureURL) as refused:
                client.get(f"{server.base_url}/simple/app/")
            assert proxy.requests == []
            fetched = allowed.get(f"{server.base_url}/simple/app/")
        finally:
            client.close()
            allowed.close()

    assert str(refused.value) == (
        f"refusing plain-http http://files.invalid/app.whl (redirected from {server.base_url}/simple/app/): "
        "use https, or pass --allow-insecure-host files.invalid"
    )
    assert (fetched.url, fetched.body) == ("http://files.invalid/app.whl", b"wheel")
    assert "authorization" not in proxy.requests[0][1]


def test_at_most_twenty_redirects_are_followed(server):
    for n in range(1, 30):
        server.route(f"/r/{n}", redirect(f"/r/{n - 1}"))
    server.route("/r/0", b"end")
    client = http(server)
    try:
        assert client.get(f"{server.base_url}/r/{MAX_REDIRECTS}").body == b"end"
        with pytest.raises(IndexUnreachable) as failed:
            client.get(f"{server.base_url}/r/{MAX_REDIRECTS + 1}")
    finally:
        client.close()

    assert MAX_REDIRECTS == 20
    assert str(failed.value) == f"cannot fetch {server.base_url}/r/21: Exceeded maximum allowed redirects."
    assert server.asked("/r/0") == 1  # the 21st redirect was not followed


def test_a_location_that_is_no_url_is_a_broken_answer_and_retried(server):
    server.route("/a", redirect("https://files.example:x/a.whl"))
    client = Http(use_netrc=False, retries=1)
    try:
        with pytest.raises(IndexUnreachable) as failed:
            client.get(f"{server.base_url}/a")
    finally:
        client.close()

    assert str(failed.value).startswith(f"{server.base_url}/a: the connection broke off (Invalid URL in location header")
    assert str(failed.value).endswith("(2 attempts)")


def test_the_fragment_of_the_url_asked_for_is_kept_across_redirects(server):
    server.route("/a", redirect("/b"))
    server.route("/b", b"ok")
    client = http()
    try:
        assert client.get(f"{server.base_url}/a#sha256=00").url == f"{server.base_url}/b#sha256=00"
    finally:
        client.close()


# --------------------------------------------------------------------------------------
# what is sent, what is read
# --------------------------------------------------------------------------------------


def test_the_request_headers_are_httpx_ones_with_the_callers_on_top(server):
    server.route("/a", b"ok")
    client = http()
    try:
        client.get(f"{server.base_url}/a", headers={"Accept": "application/json", "Range": "bytes=0-1"})
    finally:
        client.close()

    headers = sent(server, "/a")[0]
    assert headers["accept"] == "application/json"
    assert headers["accept-encoding"] == "gzip, deflate"
    assert headers["user-agent"].startswith("ftlock/")
    assert headers["range"] == "bytes=0-1"
    assert headers["host"] == f"127.0.0.1:{server.port}"


def test_response_headers_are_lower_case_and_repeated_ones_joined(server):
    class Twice(dict):  # type: ignore[type-arg]
        def items(self):  # type: ignore[no-untyped-def]
            return [("Link", "<a>"), ("X-Name", "caf\xe9"), ("Link", "<b>")]

    server.route("/a", Answer(b"ok", headers=Twice()))
    client = http()
    try:
        fetched = client.get(f"{server.base_url}/a")
    finally:
        client.close()

    assert fetched.headers["link"] == "<a>, <b>"
    assert fetched.headers["x-name"] == "caf\xe9"  # latin-1 on the wire, as httpx read it


def test_a_cookie_the_index_sets_is_sent_back(server):
    server.route("/login", Answer(b"", status=302, headers={"Location": "/simple/", "Set-Cookie": "sid=42; Path=/"}))
    server.route("/simple/", b"ok")
    server.route("/other", b"ok")
    client = http()
    try:
        client.get(f"{server.base_url}/login")
        client.get(f"{server.base_url}/other")
    finally:
        client.close()

    assert "cookie" not in sent(server, "/login")[0]
    assert sent(server, "/simple/")[0]["cookie"] == "sid=42"
    assert sent(server, "/other")[0]["cookie"] == "sid=42"


# --------------------------------------------------------------------------------------
# Content-Encoding
# --------------------------------------------------------------------------------------

PAGE = b'{"files": []}' * 5000


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(PAGE)),
        ("deflate", zlib.compress(PAGE)),  # with the zlib header, as the RFC says
        ("deflate", _raw_deflate(PAGE)),  # without it, as some servers send
        ("GZIP", gzip.compress(PAGE)),
        ("gzip, deflate", zlib.compress(gzip.compress(PAGE))),  # undone last-applied first
        ("identity", PAGE),
        ("br", PAGE),  # not asked for, not understood: passed through
    ],
)
def test_compressed_bodies_are_decoded(server, encoding, body):
    server.route("/a", Answer(body, headers={"Content-Encoding": encoding}))
    client = http()
    try:
        fetched = client.get(f"{server.base_url}/a")
    finally:
        client.close()

    assert fetched.body == PAGE
    assert client.bytes == len(PAGE)


def test_a_broken_gzip_body_is_transient_and_fails_in_one_line(server):
    server.route("/a", Answer(b"not gzip at all", headers={"Content-Encoding": "gzip"}))
    client = Http(use_netrc=False, retries=2)
    try:
        with pytest.raises(IndexUnreachable) as failed:
            client.get(f"{server.base_url}/a")
    finally:
        client.close()

    assert str(failed.value) == (
        f"{server.base_url}/a: the response could not be decoded "
        "(Error -3 while decompressing data: incorrect header check) (3 attempts)"
    )
    assert server.asked("/a") == 3


def test_the_size_limit_counts_decoded_bytes(server):
    server.route("/a", Answer(gzip.compress(PAGE), headers={"Content-Encoding": "gzip"}))
    client = http()
    try:
        assert client.get(f"{server.base_url}/a", limit=len(PAGE)).body == PAGE
        with pytest.raises(ResponseTooLarge):
            client.get(f"{server.base_url}/a", limit=len(PAGE) - 1)
    finally:
        client.close()


def test_a_gzip_bomb_is_cut_off_at_the_limit_without_being_inflated(server):
    """64 MiB of spaces compress to 64 KiB: one network read could inflate to most of it.
    Inflating runs in bounded steps, so what is held stays near the limit."""
    server.route("/bomb", gzip_bomb(64 * MiB))
    client = http()
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge):
            client.get(f"{server.base_url}/bomb", limit=1 * MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        client.close()

    assert peak < 4 * MiB


def test_inflating_yields_bounded_pieces():
    bomb = gzip.compress(b"\0" * (32 * MiB))
    decoder = wire.Decoder.for_header("gzip")
    assert decoder is not None

    sizes = [len(piece) for piece in decoder.feed(bomb)] + [len(piece) for piece in decoder.flush()]

    assert max(sizes) <= wire.PIECE
    assert sum(sizes) == 32 * MiB


# --------------------------------------------------------------------------------------
# proxies from the environment
# --------------------------------------------------------------------------------------


@pytest.fixture
def proxy():  # type: ignore[no-untyped-def]
    """A local server acting as the HTTP proxy: it is asked for absolute URLs."""
    with HostileIndex() as started:
        yield started


def test_http_proxy_is_used_and_no_proxy_respected(server, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
    monkeypatch.setenv("NO_PROXY", "localhost, .skip.invalid")
    proxy.route("http://index.invalid/simple/", b"via the proxy")
    proxy.route("http://a.skip.invalid/x", b"should not be proxied")
    server.route("/direct", b"direct")
    client = http(insecure_hosts=("index.invalid", "a.skip.invalid"))
    try:
        assert client.get("http://index.invalid/simple/").body == b"via the proxy"
        assert client.get(f"http://localhost:{server.port}/direct").body == b"direct"
        with pytest.raises(IndexUnreachable, match="cannot reach http://a.skip.invalid/x"):
            client.get("http://a.skip.invalid/x")  # direct: no such host
    finally:
        client.close()

    assert [path for path, _ in proxy.requests] == ["http://index.invalid/simple/"]
    assert server.asked("/direct") == 1


@pytest.mark.parametrize("no_proxy", ["*", "index.invalid", "INVALID", "other.example, *", "dex.invalid"])
def test_no_proxy_forms(proxy, monkeypatch, no_proxy):
    """``*`` turns proxies off; a name matches itself and its subdomains (curl's rules, as
    httpx read them); anything else leaves the proxy in use."""
    monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    proxy.route("http://index.invalid/x", b"via the proxy")
    client = http(insecure_hosts=("index.invalid",))
    try:
        client.get("http://index.invalid/x")
        proxied = True
    except IndexUnreachable:
        proxied = False
    finally:
        client.close()

    assert proxied is (no_proxy == "dex.invalid")


def test_the_no_proxy_patterns_match_as_httpx_matched_them(monkeypatch):
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ALL_PROXY", "proxy.example:3128")
    monkeypatch.setenv("https_proxy", "http://user:pa%40ss@tls-proxy.example")
    monkeypatch.setenv("NO_PROXY", "example.com,.corp.net,10.0.0.1,::1,localhost,http://plain.org")
    routes = wire.proxy_routes(wire.environment_proxies())

    def via(url: str) -> str | None:
        target = wire.parse_url(url)
        for pattern, found in routes:
            if pattern.matches(target):
                return None if found is None else str(found.url)
        return None

    assert via("http://example.com/x") is None
    assert via("https://www.example.com/") is None
    assert via("https://notexample.com/") == "http://tls-proxy.example"
    assert via("http://notexample.com/") == "http://proxy.example:3128"
    assert via("https://a.corp.net/") is None
    assert via("https://corp.net/") == "http://tls-proxy.example"  # ".corp.net": subdomains only
    assert via("http://10.0.0.1:8080/") is None
    assert via("http://[::1]/") is None
    assert via("http://localhost/") is None
    assert via("http://plain.org/") is None
    assert via("https://plain.org/") == "http://tls-proxy.example"
    tls_proxy = next(found for _, found in routes if found is not None and found.url.host == "tls-proxy.example")
    assert tls_proxy.auth == (b"user", b"pa@ss")  # taken out of the URL


def test_lower_case_proxy_variables_win(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://upper.example")
    monkeypatch.setenv("http_proxy", "http://lower.example")

    assert wire.environment_proxies()["http://"] == "http://lower.example"


@pytest.mark.skipif(
    __import__("importlib.util").util.find_spec("socksio") is not None, reason="socksio is installed"
)
def test_a_socks_proxy_without_socksio_says_what_to_install(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")

    with pytest.raises(UsageError, match="needs the 'socksio' package, which is not installed: pip install socksio"):
        Http(use_netrc=False)


def test_an_unknown_proxy_scheme_is_refused(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "ftp://127.0.0.1:2121")

    with pytest.raises(UsageError, match=r"Unknown scheme for proxy URL URL\('ftp://127.0.0.1:2121'\)"):
        Http(use_netrc=False)


def test_a_broken_proxy_setting_is_one_error_line_not_a_traceback(monkeypatch, ftlock):
    monkeypatch.setenv("HTTPS_PROXY", "ftp://alice:s3cret@127.0.0.1:2121")
    monkeypatch.setenv("HTTP_PROXY", "ftp://alice:s3cret@127.0.0.1:2121")

    result = ftlock("solve", "demo", "--index-url", "http://127.0.0.1:9/simple/")

    assert result.exit_code == 2
    assert error_line(result) == (
        "error: proxy settings (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY): "
        "Unknown scheme for proxy URL URL('ftp://127.0.0.1:2121')"
    )


# --------------------------------------------------------------------------------------
# URLs and import cost
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://Example.COM:443/a b/../c?q=\u00fc x#frag", "https://example.com/c?q=%C3%BC%20x#frag"),
        ("http://127.0.0.1:8080/x/./y/", "http://127.0.0.1:8080/x/y/"),
        ("https://m\u00fcnchen.de/p", "https://xn--mnchen-3ya.de/p"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("https://h/%7euser/%zz/%41", "https://h/%7euser/%zz/%41"),
        ("https://h/a{b}`c", "https://h/a%7Bb%7D%60c"),
    ],
)
def test_urls_are_normalized_as_httpx_did(given, expected):
    assert str(wire.parse_url(given)) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("http://h:abc/", "Invalid port: 'abc'"),
        ("http://999.1.1.1/", "Invalid IPv4 address: '999.1.1.1'"),
        ("https://h/\x0c", "Invalid non-printable ASCII character in URL, '\\x0c' at position 10."),
    ],
)
def test_invalid_urls_are_refused_with_httpx_messages(given, message):
    with pytest.raises(wire.InvalidURL) as refused:
        wire.parse_url(given)

    assert str(refused.value) == message


def test_the_http_client_does_not_import_httpx():
    code = "import sys, ftlock.index.http; print(sorted(m for m in sys.modules if m.startswith(('httpx', 'urllib.request', 'http.cookiejar'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert out.strip() == "[]"


def test_requests_without_a_proxy_never_import_httpcore(server):
    """httpcore, h11 and anyio (15 ms) are loaded for proxies only."""
    server.route("/x", b"hello")
    code = (
        "import sys; from ftlock.index.http import Http; h = Http(load_trust=False, retries=0); "
        f"assert h.get('http://127.0.0.1:{server.port}/x').body == b'hello'; h.close(); "
        "print(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('httpcore', 'h11', 'anyio')))"
    )
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout

    assert out.strip() == "[]"
