"""URLs as httpx 0.28 normalised them (httpx/_urlparse.py): percent-encoding as the WHATWG
URL standard sets it, IDNA hosts, default ports dropped, "." and ".." segments removed —
what goes on the wire, what a redirect resolves to, and what ``Fetched.url`` shows."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urljoin


class InvalidURL(Exception):
    """A URL that cannot be requested (httpx.InvalidURL, same messages)."""


# Percent-encoding as the WHATWG URL standard sets it, IDNA hosts, default ports dropped,
# "." and ".." segments removed: what goes on the wire and what Fetched.url shows.

_MAX_URL_LENGTH = 65536
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_SUB_DELIMS = "!$&'()*+,;="
_PERCENT_ENCODED = re.compile("%[A-Fa-f0-9]{2}")


def _safe(*excluded: int) -> str:
    return "".join(chr(i) for i in range(0x20, 0x7F) if i not in excluded)


# what each part keeps unescaped: the unreserved characters and its safe set
_FRAG_SAFE = _UNRESERVED + _safe(0x20, 0x22, 0x3C, 0x3E, 0x60)
_QUERY_SAFE = _UNRESERVED + _safe(0x20, 0x22, 0x23, 0x3C, 0x3E)
_PATH_SAFE = _UNRESERVED + _safe(0x20, 0x22, 0x23, 0x3C, 0x3E, 0x3F, 0x60, 0x7B, 0x7D)
_USERINFO_SAFE = _UNRESERVED + _safe(
    0x20, 0x22, 0x23, 0x3C, 0x3E, 0x3F, 0x60, 0x7B, 0x7D,
    0x2F, 0x3B, 0x3D, 0x40, 0x5B, 0x5C, 0x5D, 0x5E, 0x7C,
)
_HOST_SAFE = _UNRESERVED + _SUB_DELIMS + '"`{}%|\\'

_URL = re.compile(
    r"(?:(?P<scheme>([a-zA-Z][a-zA-Z0-9+.-]*)?):)?"
    r"(?://(?P<authority>[^/?#]*))?"
    r"(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?"
    r"(?:#(?P<fragment>.*))?"
)
_AUTHORITY = re.compile(r"(?:(?P<userinfo>.*)@)?(?P<host>(\[.*\]|[^:@]*)):?(?P<port>.*)?")
#: each part given on its own (URL.copy_with) must match its pattern; compiled when needed
_COMPONENT = {
    "scheme": "([a-zA-Z][a-zA-Z0-9+.-]*)?",
    "authority": "[^/?#]*",
    "path": "[^?#]*",
    "query": "[^#]*",
    "fragment": ".*",
    "host": "(\\[.*\\]|[^:]*)",
}
_IPV4_STYLE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$")
_IPV6_STYLE = re.compile(r"^\[.*\]$")
_DEFAULT_PORTS = {"ftp": 21, "http": 80, "https": 443, "ws": 80, "wss": 443}


class URL(NamedTuple):
    """A parsed, normalized URL (httpx's ``ParseResult``): every part plain ASCII."""

    scheme: str
    userinfo: str
    host: str  # lower-case, IDNA-encoded, IPv6 without brackets
    port: int | None  # None for the scheme's default port
    path: str
    query: str | None
    fragment: str | None

    @property
    def netloc(self) -> str:
        """``host[:port]``: the ``Host`` header."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def authority(self) -> str:
        return f"{self.userinfo}@{self.netloc}" if self.userinfo else self.netloc

    @property
    def target(self) -> bytes:
        """The request target: path and query (httpx's ``raw_path``)."""
        path = self.path or "/"
        return (path if self.query is None else f"{path}?{self.query}").encode("ascii")

    @property
    def is_absolute(self) -> bool:
        return bool(self.scheme and self.host)

    @property
    def default_port(self) -> int | None:
        """The port, the scheme's default filled in (httpx's ``_port_or_default``)."""
        return self.port if self.port is not None else {"http": 80, "https": 443}.get(self.scheme)

    def same_origin(self, other: URL) -> bool:
        return (
            self.scheme == other.scheme
            and self.host == other.host
            and self.default_port == other.default_port
        )

    def copy_with(self, **components: str | None) -> URL:
        parts: dict[str, str | None] = {
            "scheme": self.scheme,
            "authority": self.authority,
            "path": self.path,
            "query": self.query,
            "fragment": self.fragment,
        }
        parts.update(components)
        return parse_url("", **parts)

    def join(self, reference: URL) -> URL:
        """``reference`` resolved against this URL (httpx's ``URL.join``)."""
        return parse_url(urljoin(str(self), str(reference)))

    def __str__(self) -> str:
        authority = self.authority
        return "".join(
            [
                f"{self.scheme}:" if self.scheme else "",
                f"//{authority}" if authority else "",
                self.path,
                f"?{self.query}" if self.query is not None else "",
                f"#{self.fragment}" if self.fragment is not None else "",
            ]
        )


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")  # the ASCII characters str.isprintable() rejects


def _first_unprintable(text: str) -> str | None:
    found = _UNPRINTABLE.search(text)
    return None if found is None else found.group(0)


def parse_url(url: str = "", **components: str | None) -> URL:
    """httpx's ``urlparse``: validate and normalize ``url`` (or the ``components`` given:
    scheme, authority, host, path, query, fragment); raises :class:`InvalidURL`."""
    if len(url) > _MAX_URL_LENGTH:
        raise InvalidURL("URL too long")
    char = _first_unprintable(url)
    if char is not None:
        raise InvalidURL(
            f"Invalid non-printable ASCII character in URL, {char!r} at position {url.find(char)}."
        )
    host_given = components.get("host")
    if host_given and ":" in host_given and not (host_given.startswith("[") and host_given.endswith("]")):
        components["host"] = f"[{host_given}]"
    for key, value in components.items():
        if value is None:
            continue
        if len(value) > _MAX_URL_LENGTH:
            raise InvalidURL(f"URL component '{key}' too long")
        char = _first_unprintable(value)
        if char is not None:
            raise InvalidURL(
                f"Invalid non-printable ASCII character in URL {key} component, "
                f"{char!r} at position {value.find(char)}."
            )
        if not re.fullmatch(_COMPONENT[key], value):
            raise InvalidURL(f"Invalid URL component '{key}'")

    match = _URL.match(url)
    assert match is not None  # every string matches
    found = match.groupdict()
    scheme = components.get("scheme", found["scheme"]) or ""
    authority = components.get("authority", found["authority"]) or ""
    path = components.get("path", found["path"]) or ""
    query = components.get("query", found["query"])
    fragment = components.get("fragment", found["fragment"])

    parts = _AUTHORITY.match(authority)
    assert parts is not None
    userinfo = parts["userinfo"] or ""
    host = components.get("host", parts["host"]) or ""
    port = parts["port"]

    scheme = scheme.lower()
    userinfo = _quote(userinfo, _USERINFO_SAFE)
    host = _encode_host(host)
    port_number = _normalize_port(port, scheme)
    has_scheme = scheme != ""
    has_authority = userinfo != "" or host != "" or port_number is not None
    if has_authority and path and not path.startswith("/"):
        raise InvalidURL("For absolute URLs, path must be empty or begin with '/'")
    if not has_scheme and not has_authority:
        if path.startswith("//"):
            raise InvalidURL("Relative URLs cannot have a path starting with '//'")
        if path.startswith(":"):
            raise InvalidURL("Relative URLs cannot have a path starting with ':'")
    if has_scheme or has_authority:
        path = _remove_dot_segments(path)
    return URL(
        scheme,
        userinfo,
        host,
        port_number,
        _quote(path, _PATH_SAFE),
        None if query is None else _quote(query, _QUERY_SAFE),
        None if fragment is None else _quote(fragment, _FRAG_SAFE),
    )


@lru_cache(maxsize=1024)  # every request's host: IP checks and IDNA once per host
def _encode_host(host: str) -> str:
    if not host:
        return ""
    if _IPV4_STYLE.match(host):
        try:
            ipaddress.IPv4Address(host)
        except ipaddress.AddressValueError:
            raise InvalidURL(f"Invalid IPv4 address: {host!r}") from None
        return host
    if _IPV6_STYLE.match(host):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ipaddress.AddressValueError:
            raise InvalidURL(f"Invalid IPv6 address: {host!r}") from None
        return host[1:-1]
    if host.isascii():
        return _quote(host.lower(), _HOST_SAFE)
    import idna  # noqa: PLC0415 - an internationalized host name: rare

    try:
        return str(idna.encode(host.lower()).decode("ascii"))
    except idna.IDNAError:
        raise InvalidURL(f"Invalid IDNA hostname: {host!r}") from None


def _normalize_port(port: str | None, scheme: str) -> int | None:
    if port is None or port == "":
        return None
    try:
        number = int(port)
    except ValueError:
        raise InvalidURL(f"Invalid port: {port!r}") from None
    return None if number == _DEFAULT_PORTS.get(scheme) else number


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    segments = path.split("/")
    if "." not in segments and ".." not in segments:
        return path
    output: list[str] = []
    for segment in segments:
        if segment == ".":
            pass
        elif segment == "..":
            if output and output != [""]:
                output.pop()
        else:
            output.append(segment)
    return "/".join(output)


def _percent_encoded(text: str, keep: str) -> str:
    if not text.rstrip(keep):
        return text
    return "".join(
        char if char in keep else "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        for char in text
    )


def _quote(text: str, safe: str) -> str:
    """Percent-encode ``text`` (keeping the characters in ``safe``), leaving existing
    ``%xx`` escapes as they are."""
    if "%" not in text:
        return _percent_encoded(text, safe)
    parts = []
    position = 0
    for match in _PERCENT_ENCODED.finditer(text):
        if match.start() != position:
            parts.append(_percent_encoded(text[position : match.start()], safe))
        parts.append(match.group(0))
        position = match.end()
    if position != len(text):
        parts.append(_percent_encoded(text[position:], safe))
    return "".join(parts)


def display_host(host: str) -> str:
    """httpx's ``URL.host``: an IDNA host (``xn--...``) decoded, as proxy patterns see it."""
    if not host.startswith("xn--"):
        return host
    import idna  # noqa: PLC0415 - rare

    return str(idna.decode(host))
