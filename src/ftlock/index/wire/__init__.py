"""What httpx did around httpcore, kept for :mod:`ftlock.index.http`, one job a module:
URL normalization (:mod:`.urls`), proxies from the environment (:mod:`.proxies`),
response headers (:mod:`.headers`), ``Content-Encoding`` decoding (:mod:`.encoding`) and
cookies (:mod:`.cookies`).

Why not httpx itself: a cold solve makes 150-400 requests on a machine that is CPU-bound,
and httpx's client costs about 0.25 ms of CPU per request over httpcore (request and
response models, header objects, hooks, auth flows), and 15 ms to import (http.cookiejar,
urllib.request, multipart, ...): measured on the benchmark mirror, cold solves 6-9% faster
without it.  Each rule here is httpx 0.28's (file and function named where it comes from),
checked against httpx itself (tests/test_http_client.py), so requests, redirects and
proxies behave as they did.
"""

from ftlock.index.wire.cookies import Cookies
from ftlock.index.wire.encoding import ACCEPT_ENCODING, PIECE, Decoder, DecodingError
from ftlock.index.wire.headers import decode_headers
from ftlock.index.wire.proxies import Proxy, environment_proxies, proxy_routes
from ftlock.index.wire.urls import URL, InvalidURL, parse_url

__all__ = [
    "ACCEPT_ENCODING", "PIECE", "URL", "Cookies", "Decoder", "DecodingError", "InvalidURL", "Proxy",
    "decode_headers", "environment_proxies", "parse_url", "proxy_routes",
]
