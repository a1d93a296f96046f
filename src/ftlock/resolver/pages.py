"""Parse project pages: PEP 691 JSON and PEP 503 HTML, into :class:`ProjectPage`.

Pure functions over bytes — no I/O — so the parsers are tested without a server and the
cache can store the parsed form.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from packaging.utils import NormalizedName

from ftlock.errors import IndexResponseError
from ftlock.resolver.indexes import redact
from ftlock.resolver.models import DistFile, ProjectPage

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_CONTENT_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"


def _parse_time(value: object) -> float | None:
    """PEP 700 ``upload-time`` (RFC 3339, UTC) as POSIX seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _metadata_hash(value: object) -> tuple[bool, str | None]:
    """PEP 714 ``core-metadata`` (or the older name): ``true`` or ``{"sha256": ...}``."""
    if value is True:
        return True, None
    if isinstance(value, dict):
        return True, value.get("sha256")
    return False, None


def parse_json_page(body: bytes, url: str, name: NormalizedName, index_url: str) -> ProjectPage:
    try:
        data = json.loads(body)
        entries = data["files"]
        if not isinstance(entries, list):
            raise TypeError("'files' is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexResponseError(f"{redact(url)}: malformed PEP 691 JSON page ({exc})") from exc
    return ProjectPage(
        name, index_url, entries, lambda e: e["filename"], lambda e: _json_file(e, url)
    )


def _json_file(entry: dict[str, Any], page_url: str) -> DistFile | None:
    """One PEP 691 ``files`` entry; None when it is malformed (skipped, as pip does)."""
    try:
        filename = entry["filename"]
        file_url = entry["url"]
        if not file_url.startswith(("https://", "http://")):
            file_url = urljoin(page_url, file_url)
        urlsplit(file_url)  # a broken URL raises ValueError: the entry is skipped
        yanked = entry.get("yanked", False)
        has_meta, meta_hash = _metadata_hash(
            entry.get("core-metadata", entry.get("dist-info-metadata", False))
        )
        size = entry.get("size")
        return DistFile(
            filename=filename,
            url=file_url,
            sha256=(entry.get("hashes") or {}).get("sha256"),
            requires_python=entry.get("requires-python") or None,
            yanked=bool(yanked),
            yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
            upload_time=_parse_time(entry.get("upload-time")),
            size=size if isinstance(size, int) else None,
            metadata_sha256=meta_hash,
            has_metadata_file=has_meta,
        )
    except (KeyError, TypeError, AttributeError, ValueError):  # ValueError: a broken URL
        return None


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[str, dict[str, str | None]]] = []
        self.base: str | None = None
        self._text: list[str] | None = None
        self._attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self._attrs = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._text is not None:
            self.anchors.append(("".join(self._text).strip(), self._attrs))
            self._text = None


def parse_html_page(body: bytes, url: str, name: NormalizedName, index_url: str) -> ProjectPage:
    parser = _AnchorParser()
    try:
        parser.feed(body.decode("utf-8", errors="replace"))
        parser.close()
    except Exception as exc:  # html.parser is lenient; this is for truly broken input
        raise IndexResponseError(f"{redact(url)}: malformed HTML page ({exc})") from exc
    try:
        base = urljoin(url, parser.base) if parser.base else url
    except ValueError:  # a broken <base href>: resolve links against the page itself
        base = url
    files = []
    for text, attrs in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        try:
            absolute, fragment = urldefrag(urljoin(base, href))
        except ValueError:  # a broken URL (unclosed [IPv6 literal): skipped, as pip does
            continue
        filename = unquote(urlsplit(absolute).path.rsplit("/", 1)[-1]) or text
        sha256 = None
        if fragment.startswith("sha256="):
            sha256 = fragment.removeprefix("sha256=")
        yanked_attr = attrs.get("data-yanked")
        meta_attr = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        has_meta = meta_attr is not None and meta_attr != "false"
        meta_hash = None
        if meta_attr and meta_attr.startswith("sha256="):
            meta_hash = meta_attr.removeprefix("sha256=")
        files.append(
            DistFile(
                filename=filename,
                url=absolute,
                sha256=sha256,
                requires_python=attrs.get("data-requires-python") or None,
                yanked="data-yanked" in attrs,  # PEP 592: the attribute may have no value
                yanked_reason=yanked_attr or None,
                metadata_sha256=meta_hash,
                has_metadata_file=has_meta,
            )
        )
    return ProjectPage.of(name, index_url, files)


def parse_page(
    body: bytes, content_type: str, url: str, name: NormalizedName, index_url: str
) -> ProjectPage:
    if content_type.split(";")[0].strip() == JSON_CONTENT_TYPE:
        return parse_json_page(body, url, name, index_url)
    return parse_html_page(body, url, name, index_url)
