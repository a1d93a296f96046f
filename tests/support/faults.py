"""A fault-injecting HTTP proxy in front of a :class:`LocalIndex`, on 127.0.0.1.

Real indexes and the networks in front of them fail in a handful of ways; each one here is
a :class:`Fault` that the proxy applies to matching requests, a given number of times::

    proxy = FaultProxy(index).start()
    proxy.inject("/simple/app/", status(503), times=1)   # first request: 503, then normal
    proxy.inject("/files/*.metadata", truncate())          # every .metadata: cut short
    ftlock("solve", "app", "--index-url", proxy.url, ...)
    assert proxy.count("/simple/app/") == 2

Faults: ``status(code, retry_after=...)``, ``slow(seconds)``, ``reset()`` (RST, no
answer), ``truncate()`` (``Content-Length`` larger than the body, then the connection
closes), ``content_type(value)``, ``body(bytes | fn)`` (replace or tamper with the body),
``ignore_range()`` (200 and the whole file for a range request) and ``garble_range()``
(206 with the right headers but wrong bytes).

The proxy also works as a forward proxy (``HTTP_PROXY=proxy.base_url``): a request line
with an absolute URL for any host name (``http://index.invalid/simple/``) is served the
same way, so tests can use host names other than 127.0.0.1 without leaving the machine.
``auth=(user, password)`` makes it demand HTTP Basic auth on every request.
"""

from __future__ import annotations

import base64
import fnmatch
import http.client
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .index_server import LocalIndex
from .serving import LocalServer

__all__ = [
    "Fault",
    "FaultProxy",
    "body",
    "content_type",
    "garble_range",
    "ignore_range",
    "reset",
    "slow",
    "status",
    "truncate",
]


@dataclass(frozen=True)
class Fault:
    kind: str
    code: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    value: object = None


def status(
    code: int,
    retry_after: str | float | None = None,
    text: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Fault:
    """Answer ``code`` (e.g. 500, 502, 503, 429, or 302 with a ``Location`` header) without
    asking the index."""
    extra = dict(headers or {})
    if retry_after is not None:
        extra["Retry-After"] = str(retry_after)
    return Fault(
        "status", code=code, headers=tuple(extra.items()), value=text or f"fault {code}\n".encode()
    )


def slow(seconds: float) -> Fault:
    """Wait ``seconds`` before answering (past the client's timeout, usually)."""
    return Fault("slow", delay=seconds)


def reset() -> Fault:
    """Abort the connection (TCP RST) without a response."""
    return Fault("reset")


def truncate(keep: float = 0.5) -> Fault:
    """Send the headers with the real ``Content-Length`` plus 1000, ``keep`` of the body,
    then close the connection."""
    return Fault("truncate", value=keep)


def content_type(value: str) -> Fault:
    """The index's answer, with another ``Content-Type``."""
    return Fault("content_type", value=value)


def body(replacement: bytes | Callable[[bytes], bytes], content_type: str | None = None) -> Fault:
    """The index's status and headers with another body (bytes, or a function of the real
    body: tamper with a wheel, break a JSON page)."""
    return Fault("body", value=(replacement, content_type))


def ignore_range() -> Fault:
    """Answer a range request with 200 and the whole file, as some mirrors do."""
    return Fault("ignore_range")


def garble_range() -> Fault:
    """Answer a range request with 206 and correct headers, but zeroed bytes."""
    return Fault("garble_range")


@dataclass
class _Rule:
    pattern: str
    fault: Fault
    times: int | None  # None: every time
    ranged: bool | None  # only requests with (True) / without (False) a Range header


@dataclass
class ProxyRecord:
    path: str
    range: str | None
    fault: str  # "-" when passed through untouched
    authorization: str | None
    host: str | None


@dataclass
class _Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        """Clients that give up (timeouts) and resets we cause ourselves are normal here."""


class FaultProxy(LocalServer):
    """Forwards to ``upstream`` (a started LocalIndex) and injects faults."""

    def __init__(
        self,
        upstream: LocalIndex,
        *,
        auth: tuple[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.upstream = upstream
        self.auth = auth
        self.delay = delay  # added to every response: a slow index
        self.log: list[ProxyRecord] = []
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------ lifecycle
    server_class = _QuietServer

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return type("_BoundFaultHandler", (_FaultHandler,), {"proxy": self})

    # --------------------------------------------------------------- faults
    def inject(
        self, pattern: str, fault: Fault, times: int | None = 1, *, ranged: bool | None = None
    ) -> None:
        """Apply ``fault`` to requests whose path matches ``pattern`` (fnmatch: ``*``
        wildcards), the next ``times`` times (None: always); ``ranged=True``/``False``
        limits it to requests with/without a ``Range`` header.  Earlier rules win."""
        with self._lock:
            self._rules.append(_Rule(pattern, fault, times, ranged))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.log.clear()

    def _take(self, path: str, has_range: bool) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if rule.times == 0 or not fnmatch.fnmatchcase(path, rule.pattern):
                    continue
                if rule.ranged is not None and rule.ranged != has_range:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                return rule.fault
        return None

    def _record(self, record: ProxyRecord) -> None:
        with self._lock:
            self.log.append(record)

    def count(self, pattern: str = "*", fault: str | None = None) -> int:
        with self._lock:
            records = list(self.log)
        return sum(
            1
            for r in records
            if fnmatch.fnmatchcase(r.path, pattern) and (fault is None or r.fault == fault)
        )

    # ------------------------------------------------------------- upstream
    def fetch(self, path: str, headers: dict[str, str]) -> _Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            data = response.read()
            kept = [
                (k, v)
                for k, v in response.getheaders()
                if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server")
            ]
            return _Answer(response.status, response.reason, kept, data)
        finally:
            conn.close()


_FORWARDED = ("Accept", "Range", "If-None-Match", "If-Modified-Since", "Accept-Encoding")


class _FaultHandler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"
    server_version = "ftlock-fault-proxy/1.0"
    timeout = 30
    disable_nagle_algorithm = True  # see index_server._Handler

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            pass  # the client went away (timeout) or we reset the connection

    def do_GET(self) -> None:
        target = urlsplit(self.path)
        path = target.path or "/"  # absolute-form (forward proxy) or origin-form
        host = target.netloc or self.headers.get("Host")
        fault = self.proxy._take(path, self.headers.get("Range") is not None)
        self.proxy._record(
            ProxyRecord(
                path,
                self.headers.get("Range"),
                fault.kind if fault else "-",
                self.headers.get("Authorization"),
                host,
            )
        )
        if self.proxy.delay:
            time.sleep(self.proxy.delay)
        if self.proxy.auth is not None and not self._authorised():
            self._write(
                _Answer(
                    401,
                    "Unauthorized",
                    [("WWW-Authenticate", 'Basic realm="ftlock-test"'), ("Content-Type", "text/plain")],
                    b"credentials needed\n",
                )
            )
            return
        if fault is None:
            self._write(self._forward(path, host))
        elif fault.kind == "status":
            headers = [("Content-Type", "text/plain"), *fault.headers]
            self._write(_Answer(fault.code, _reason(fault.code), headers, fault.value))  # type: ignore[arg-type]
        elif fault.kind == "slow":
            time.sleep(fault.delay)
            self._write(self._forward(path, host))
        elif fault.kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        elif fault.kind == "truncate":
            answer = self._forward(path, host)
            keep = int(len(answer.body) * float(fault.value))  # type: ignore[arg-type]
            self._write(answer, declared=len(answer.body) + 1000, send=answer.body[:keep])
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_WR)
        elif fault.kind == "content_type":
            answer = self._forward(path, host)
            answer.headers = [(k, v) for k, v in answer.headers if k.lower() != "content-type"]
            answer.headers.append(("Content-Type", str(fault.value)))
            self._write(answer)
        elif fault.kind == "body":
            answer = self._forward(path, host)
            replacement, ctype = fault.value  # type: ignore[misc]
            answer.body = replacement(answer.body) if callable(replacement) else replacement
            if ctype is not None:
                answer.headers = [(k, v) for k, v in answer.headers if k.lower() != "content-type"]
                answer.headers.append(("Content-Type", ctype))
            self._write(answer)
        elif fault.kind == "ignore_range":
            self._write(self._forward(path, host, drop=("Range",)))
        elif fault.kind == "garble_range":
            answer = self._forward(path, host)
            if answer.status == 206:
                answer.body = b"\0" * len(answer.body)
            self._write(answer)
        else:  # pragma: no cover
            raise AssertionError(fault.kind)

    def _authorised(self) -> bool:
        assert self.proxy.auth is not None
        user, password = self.proxy.auth
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return self.headers.get("Authorization") == expected

    def _forward(self, path: str, host: str | None, drop: tuple[str, ...] = ()) -> _Answer:
        headers = {
            k: v for k in _FORWARDED if k not in drop and (v := self.headers.get(k)) is not None
        }
        answer = self.proxy.fetch(path, headers)
        # redirects point back at the proxy (or the host name the client used)
        upstream = self.proxy.upstream.base_url
        answer.headers = [
            (k, v.replace(upstream, f"http://{host}") if k.lower() == "location" and host else v)
            for k, v in answer.headers
        ]
        return answer

    def _write(self, answer: _Answer, declared: int | None = None, send: bytes | None = None) -> None:
        self.send_response(answer.status, answer.reason)
        for key, value in answer.headers:
            self.send_header(key, value)
        length = len(answer.body) if declared is None else declared
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(answer.body if send is None else send)
        self.wfile.flush()


def _reason(code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Fault"
