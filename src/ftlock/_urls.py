"""URL helpers every layer needs: credentials kept out of logs, errors and locks, and the
rule for which hosts may be reached over plain http.

They are security helpers, not index features, so they sit at the bottom beside
:mod:`ftlock.errors`: the GPU catalog, the lock writers and the CLI redact URLs too, and
none of them should depend on the index client to do it.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import unquote, urlsplit, urlunsplit


def redact(url: str) -> str:
    """The URL without any ``user:password@`` part, for logs, errors and lockfiles."""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
    except ValueError:  # not a URL urllib can split: strip what looks like user:pass@
        return redact_text(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]*@")


def redact_text(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it removed (command lines,
    error messages: anything that might quote a URL a user typed)."""
    return _USERINFO.sub(r"\1", text)


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``(url without user:password@, (user, password) or None)``."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    return redact(url), (unquote(parts.username or ""), unquote(parts.password or ""))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> str:
    """``scheme://host:port`` with the scheme's default port filled in: the exact place
    credentials were given for.  A token for ``https://pkgs.corp`` must not reach
    ``https://pkgs.corp:8081`` or ``http://pkgs.corp``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port if port is not None else _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


@lru_cache(maxsize=1024)  # asked before every request: parsing an IP address each time showed
def is_local_host(host: str) -> bool:
    """Loopback: ``localhost`` (and ``*.localhost``), 127.0.0.0/8, ::1 — as pip sees it."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_allowed(parts, allowed: frozenset[str] | set[str] | tuple[str, ...]) -> bool:
    host = (parts.hostname or "").lower()
    if is_local_host(host):
        return True
    with_port = f"{host}:{parts.port}" if parts.port else host
    wanted = {a.strip().lower().strip("/") for a in allowed}
    return host in wanted or with_port in wanted or f"[{host}]" in wanted


def is_secure_url(url: str, allowed: frozenset[str] | set[str] | tuple[str, ...] = ()) -> bool:
    """False for plain ``http://`` to a host that is neither loopback nor allowed."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        return True
    return _host_allowed(parts, allowed)
