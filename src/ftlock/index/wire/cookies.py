"""The client's cookie jar, as httpx 0.28 kept one (httpx/_models.py ``Cookies``)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ftlock.index.wire.headers import header_encoding
from ftlock.index.wire.urls import URL


class Cookies:
    """The client's cookie jar, as httpx kept one: ``Set-Cookie`` answers are stored, and
    later requests the cookies match carry them.  The jar (http.cookiejar, urllib.request:
    ~10 ms to import) is made on the first ``Set-Cookie``; most indexes never send one."""

    def __init__(self) -> None:
        self._jar: Any = None
        self._lock = threading.Lock()

    def header(self, url: URL, headers: Sequence[tuple[str, str]]) -> str | None:
        """The ``Cookie`` header for a request, or None."""
        jar = self._jar
        if jar is None or not url.is_absolute or not len(jar):  # (httpx failed on a bare path)
            return None
        request = self._request(url, headers)
        jar.add_cookie_header(request)
        value = request.unredirected_hdrs.get("Cookie")
        return None if value is None else str(value)

    def extract(
        self, url: URL, headers: Sequence[tuple[str, str]], raw: Sequence[tuple[bytes, bytes]]
    ) -> None:
        """Store the cookies a response to a request for ``url`` sets."""
        if not any(key.lower() in (b"set-cookie", b"set-cookie2") for key, _ in raw):
            return
        with self._lock:
            if self._jar is None:
                from http.cookiejar import CookieJar  # noqa: PLC0415 - see the class docstring

                self._jar = CookieJar()
        import email.message  # noqa: PLC0415

        info = email.message.Message()
        encoding = header_encoding(raw)
        for key, value in raw:
            info[key.decode(encoding).lower()] = value.decode(encoding)

        class Response:
            def info(self) -> email.message.Message:
                return info

        self._jar.extract_cookies(Response(), self._request(url, headers))

    @staticmethod
    def _request(url: URL, headers: Sequence[tuple[str, str]]) -> Any:
        """The request as http.cookiejar reads it (httpx's ``_CookieCompatRequest``)."""
        from urllib.request import Request  # noqa: PLC0415 - see the class docstring

        return Request(str(url), headers={k.lower(): v for k, v in headers}, method="GET")
