"""Proxies from the environment as httpx 0.28 chose them (httpx/_utils.py
``get_environment_proxies``, _config.py ``Proxy``, _client.py's mount patterns):
``*_PROXY`` variables, lower-case ones first, ``NO_PROXY`` entries, the most specific
pattern first."""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from typing import NamedTuple
from urllib.parse import unquote

from ftlock.index.wire.urls import URL, display_host, parse_url


def _environment() -> dict[str, str]:
    """``urllib.request.getproxies()`` without importing urllib.request (8 ms): the
    ``*_proxy`` variables, lower-case ones first; on macOS and Windows the system settings
    when none is set, as there."""
    if sys.platform == "darwin" or os.name == "nt":
        from urllib.request import getproxies  # noqa: PLC0415 - reads the system settings

        return dict(getproxies())
    proxies: dict[str, str] = {}
    for name, value in os.environ.items():
        name = name.lower()
        if value and name[-6:] == "_proxy":
            proxies[name[:-6]] = value
    if "REQUEST_METHOD" in os.environ:  # CVE-2016-1000110: a CGI request's Proxy: header
        proxies.pop("http", None)
    for name, value in os.environ.items():
        if name[-6:] == "_proxy":
            name = name.lower()
            if value:
                proxies[name[:-6]] = value
            else:
                proxies.pop(name[:-6], None)
    return proxies


def _is_ip(hostname: str, kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address]) -> bool:
    try:
        kind(hostname.split("/")[0])
    except Exception:  # noqa: BLE001 - httpx's test, exactly
        return False
    return True


def environment_proxies() -> dict[str, str | None]:
    """httpx's ``get_environment_proxies``: URL pattern -> proxy URL, or None for "no
    proxy" (``NO_PROXY`` entries; ``*`` turns every proxy off)."""
    found = _environment()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        if found.get(scheme):
            value = found[scheme]
            mounts[f"{scheme}://"] = value if "://" in value else f"http://{value}"
    for hostname in (host.strip() for host in found.get("no", "").split(",")):
        if hostname == "*":
            return {}
        if not hostname:
            continue
        if "://" in hostname:
            mounts[hostname] = None
        elif _is_ip(hostname, ipaddress.IPv4Address):
            mounts[f"all://{hostname}"] = None
        elif _is_ip(hostname, ipaddress.IPv6Address):
            mounts[f"all://[{hostname}]"] = None
        elif hostname.lower() == "localhost":
            mounts[f"all://{hostname}"] = None
        else:
            mounts[f"all://*{hostname}"] = None
    return mounts


class Pattern:
    """httpx's ``URLPattern``: which requests a proxy (or "no proxy") applies to."""

    def __init__(self, pattern: str) -> None:
        if pattern and ":" not in pattern:
            raise ValueError(
                "Proxy keys should use proper URL forms rather than plain scheme strings. "
                f'Instead of "{pattern}", use "{pattern}://"'
            )
        url = parse_url(pattern)
        host = display_host(url.host)
        self.pattern = pattern
        self.scheme = "" if url.scheme == "all" else url.scheme
        self.host = "" if host == "*" else host
        self.port = url.port
        self.host_regex: re.Pattern[str] | None = None
        if not host or host == "*":
            pass
        elif host.startswith("*."):  # *.example.com: www.example.com, not example.com
            self.host_regex = re.compile(f"^.+\\.{re.escape(host[2:])}$")
        elif host.startswith("*"):  # *example.com: www.example.com and example.com
            self.host_regex = re.compile(f"^(.+\\.)?{re.escape(host[1:])}$")
        else:
            self.host_regex = re.compile(f"^{re.escape(host)}$")

    def matches(self, url: URL) -> bool:
        if self.scheme and self.scheme != url.scheme:
            return False
        if self.host and self.host_regex is not None and not self.host_regex.match(display_host(url.host)):
            return False
        return self.port is None or self.port == url.port

    @property
    def priority(self) -> tuple[int, int, int]:
        """Most specific first: a port, then longer hosts, then longer schemes."""
        return (0 if self.port is not None else 1, -len(self.host), -len(self.scheme))


class Proxy(NamedTuple):
    """httpx's ``Proxy``: the proxy URL without credentials, and those as bytes."""

    url: URL
    auth: tuple[bytes, bytes] | None

    @classmethod
    def parse(cls, text: str) -> Proxy:
        url = parse_url(text)
        if url.scheme not in ("http", "https", "socks5", "socks5h"):
            shown = url.copy_with(authority=url.netloc) if url.userinfo else url
            raise ValueError(f"Unknown scheme for proxy URL URL({str(shown)!r})")
        auth = None
        username, _, password = url.userinfo.partition(":")
        if unquote(username) or unquote(password):
            auth = (unquote(username).encode("utf-8"), unquote(password).encode("utf-8"))
            url = url.copy_with(authority=url.netloc)
        return cls(url, auth)


def proxy_routes(mounts: dict[str, str | None]) -> list[tuple[Pattern, Proxy | None]]:
    """The environment's mounts as httpx orders them (``dict(sorted(...))``: most specific
    first, ties in the order found); the first pattern that matches a URL wins."""
    routes = [(Pattern(key), None if url is None else Proxy.parse(url)) for key, url in mounts.items()]
    return sorted(routes, key=lambda route: route[0].priority)
