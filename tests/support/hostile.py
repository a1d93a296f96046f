"""A malicious package index on 127.0.0.1, for the security specification.

Each route answers what a test tells it to — any status, headers and body, a body produced
by a generator (a gzip bomb, a body that never ends), so tests can play the attacker::

    evil = HostileIndex().start()
    evil.route("/simple/app/", json_page([file_entry("app-1.0-py3-none-any.whl", url, sha)]))
    evil.route("/files/app-1.0-py3-none-any.whl", wheel_bytes)

Paths not routed get 404.  ``evil.requests`` records every path asked for.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .serving import LocalServer

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass
class Answer:
    """What one route sends: ``body`` bytes, or an iterable of chunks sent with chunked
    transfer encoding (no length: the client cannot know when it ends)."""

    body: bytes | Callable[[], Iterable[bytes]] = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def json_page(files: list[dict[str, Any]], name: str = "app") -> Answer:
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": files}).encode()
    return Answer(body, headers={"Content-Type": JSON_TYPE})


def raw_json_page(body: bytes) -> Answer:
    return Answer(body, headers={"Content-Type": JSON_TYPE})


def html_page(anchors: list[str]) -> Answer:
    body = ("<!DOCTYPE html><html><body>" + "".join(anchors) + "</body></html>").encode()
    return Answer(body, headers={"Content-Type": "text/html"})


def gzip_bomb(inflated: int, content_type: str = JSON_TYPE) -> Answer:
    """``Content-Encoding: gzip`` whose body inflates to ``inflated`` bytes of spaces (a
    JSON page that is all whitespace), compressed about 1000:1 and generated lazily."""

    def chunks() -> Iterator[bytes]:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip wrapper
        block = b" " * (1024 * 1024)
        for _ in range(inflated // len(block)):
            yield compressor.compress(block)
        yield compressor.flush()

    return Answer(chunks, headers={"Content-Type": content_type, "Content-Encoding": "gzip"})


def endless(chunk: bytes = b" " * 65536, delay: float = 0.0) -> Answer:
    """A body that never ends (until the client hangs up)."""

    def chunks() -> Iterator[bytes]:
        while True:
            yield chunk
            if delay:
                time.sleep(delay)

    return Answer(chunks, headers={"Content-Type": JSON_TYPE})


def ranged(data: bytes) -> Callable[[dict[str, str]], Answer]:
    """A file that honours ``Range: bytes=…`` requests (206), as real indexes do."""

    def answer(headers: dict[str, str]) -> Answer:
        spec = headers.get("range", "")
        if not spec.startswith("bytes="):
            return Answer(data)
        first, _, last = spec.removeprefix("bytes=").partition("-")
        if not first:
            start, end = max(0, len(data) - int(last)), len(data) - 1
        else:
            start, end = int(first), min(len(data) - 1, int(last) if last else len(data) - 1)
        return Answer(
            data[start : end + 1],
            status=206,
            headers={"Content-Range": f"bytes {start}-{end}/{len(data)}"},
        )

    return answer


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)


class HostileIndex(LocalServer):
    server_class = ThreadingHTTPServer

    def __init__(self) -> None:
        self.routes: dict[str, Answer | Callable[[dict[str, str]], Answer]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()

    def route(self, path: str, answer: Answer | bytes | Callable[[dict[str, str]], Answer]) -> None:
        self.routes[path] = Answer(answer) if isinstance(answer, bytes) else answer

    def asked(self, path: str) -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if p == path)

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        index = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except OSError:
                    pass  # the client hung up: the point of most tests here

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                headers = {k.lower(): v for k, v in self.headers.items()}
                with index._lock:
                    index.requests.append((path, headers))
                answer = index.routes.get(path)
                if callable(answer) and not isinstance(answer, Answer):
                    answer = answer(headers)
                if answer is None:
                    answer = Answer(b"not here", status=404, headers={"Content-Type": "text/plain"})
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                if isinstance(answer.body, bytes):
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.close_connection = True
                for chunk in answer.body():
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")

        return Handler
