"""Response headers as httpx 0.28 decoded them (httpx/_models.py ``Headers``)."""

from __future__ import annotations

from collections.abc import Sequence


def header_encoding(raw: Sequence[tuple[bytes, bytes]]) -> str:
    """httpx's ``Headers.encoding``: UTF-8 (ASCII included) when every name and value
    decodes as that, else ISO-8859-1, which decodes anything."""
    try:
        for key, value in raw:
            key.decode("utf-8")
            value.decode("utf-8")
    except UnicodeDecodeError:
        return "iso-8859-1"
    return "utf-8"


def decode_headers(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-case names; a repeated header's values joined with ``", "`` (httpx's
    ``Headers.items()``, and what its ``Headers.get`` returns)."""
    encoding = header_encoding(raw)
    headers: dict[str, str] = {}
    for key, value in raw:
        name = key.decode(encoding).lower()
        text = value.decode(encoding)
        headers[name] = f"{headers[name]}, {text}" if name in headers else text
    return headers
