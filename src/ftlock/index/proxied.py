"""Requests through a proxy from the environment: httpcore's proxy pools behind the
interface of :mod:`ftlock.index.transport`.

An HTTP(S) proxy (requests to https hosts tunnel through ``CONNECT``) or, where
``socksio`` is installed, a SOCKS proxy — what httpx's ``HTTPTransport(proxy=...)`` did.
httpcore (with h11 and anyio) is imported only here, so a solve without a proxy never
loads it; its exceptions become ftlock's transport errors of the same name.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

from ftlock.errors import UsageError
from ftlock.index import transport
from ftlock.index.transport import Request, Response, TransportError
from ftlock.index.wire import Proxy


class ProxyPool:
    """``handle_request`` and ``close`` over ``httpcore.HTTPProxy`` or ``SOCKSProxy``."""

    def __init__(self, proxy: Proxy, ssl_context: ssl.SSLContext, limits: dict[str, Any]) -> None:
        import httpcore  # noqa: PLC0415 - proxies only: 15 ms with h11 and anyio

        self._httpcore = httpcore
        self._errors = (
            httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
            httpcore.ProxyError, httpcore.UnsupportedProtocol,
        )
        url = httpcore.URL(
            scheme=proxy.url.scheme.encode("ascii"),
            host=proxy.url.host.encode("ascii"),
            port=proxy.url.port,
            target=proxy.url.target,
        )
        if proxy.url.scheme in ("http", "https"):
            self._pool: Any = httpcore.HTTPProxy(
                proxy_url=url, proxy_auth=proxy.auth, ssl_context=ssl_context, **limits
            )
            return
        import importlib.util  # noqa: PLC0415 - SOCKS proxies only

        if importlib.util.find_spec("socksio") is None:  # httpcore's SOCKS support needs it
            raise UsageError(
                f"the SOCKS proxy {proxy.url} needs the 'socksio' package, which is not "
                "installed: pip install socksio"
            )
        self._pool = httpcore.SOCKSProxy(
            proxy_url=url, proxy_auth=proxy.auth, ssl_context=ssl_context, **limits
        )

    def handle_request(self, request: Request) -> Response:
        httpcore = self._httpcore
        timeouts = request.timeouts
        sent = httpcore.Request(
            b"GET",
            httpcore.URL(
                scheme=request.scheme.encode("ascii"),
                host=request.host.encode("ascii"),
                port=request.port,
                target=request.target,
            ),
            headers=request.headers,
            extensions={"timeout": timeouts._asdict()},
        )
        try:
            answer = self._pool.handle_request(sent)
        except self._errors as exc:
            raise _ours(exc) from exc
        reason = answer.extensions.get("reason_phrase", b"")
        return Response(
            answer.status,
            reason.decode("ascii", errors="ignore") if isinstance(reason, bytes) else "",
            list(answer.headers),
            self._body(answer),
            answer.close,
        )

    def _body(self, answer: Any) -> Iterator[bytes]:
        try:
            yield from answer.stream
        except self._errors as exc:
            raise _ours(exc) from exc

    def close(self) -> None:
        self._pool.close()


def _ours(exc: Exception) -> TransportError:
    """httpcore's exception as ftlock's of the same name (its tree is the same)."""
    for kind in type(exc).__mro__:
        ours = getattr(transport, kind.__name__, None)
        if isinstance(ours, type) and issubclass(ours, TransportError):
            return ours(str(exc))
    return TransportError(str(exc))
