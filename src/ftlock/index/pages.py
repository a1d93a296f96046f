"""Parse project pages: PEP 691 JSON and PEP 503 HTML, into :class:`ProjectPage`.

Pure functions over bytes — no I/O — so the parsers are tested without a server and the
cache can store the parsed form.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import msgspec
from packaging.utils import NormalizedName

from ftlock.errors import IndexResponseError
from ftlock._urls import redact
from ftlock.index.models import DistFile, ProjectPage
from ftlock.untrusted import (
    file_url_allowed,
    sha256_or_none,
    size_or_none,
    text_or_none,
    upload_time_or_none,
)

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_CONTENT_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"


def _hashes(value: object) -> tuple[str | None, bool]:
    """``(sha256, invalid)`` from a PEP 691 ``hashes`` object: a claimed sha256 that is not
    64 hex digits is dropped (the file counts as unhashed) and flagged."""
    if not isinstance(value, dict):
        return None, value is not None
    claimed = value.get("sha256")
    checked = sha256_or_none(claimed)
    return checked, claimed is not None and checked is None


def _metadata_hash(value: object) -> tuple[bool, str | None]:
    """PEP 714 ``core-metadata`` (or the older name): ``true`` or ``{"sha256": ...}``.

    An advertised hash that is not a sha256 makes the ``.metadata`` file unusable (it could
    not be checked), so the shortcut is not offered at all."""
    if value is True:
        return True, None
    if isinstance(value, dict):
        claimed = value.get("sha256")
        if claimed is None:
            return True, None
        checked = sha256_or_none(claimed)
        return (True, checked) if checked is not None else (False, None)
    return False, None


class _Entry(msgspec.Struct):
    """A PEP 691 ``files`` entry with only the fields ftlock reads, each of any JSON type:
    msgspec skips the rest without building dicts, and every value is still checked by
    :func:`_dist_file`."""

    filename: Any = None
    url: Any = None
    hashes: Any = None
    requires_python: Any = msgspec.field(default=None, name="requires-python")
    yanked: Any = False
    upload_time: Any = msgspec.field(default=None, name="upload-time")
    size: Any = None
    core_metadata: Any = msgspec.field(default=msgspec.UNSET, name="core-metadata")
    dist_info_metadata: Any = msgspec.field(default=False, name="dist-info-metadata")


class _Name(msgspec.Struct, gc=False):
    """Only an entry's filename: all the solver needs to group a page by version."""

    filename: Any = None


class _Names(msgspec.Struct):
    files: list[_Name]


class _Raws(msgspec.Struct):
    files: list[msgspec.Raw]


_NAMES = msgspec.json.Decoder(_Names)
_RAWS = msgspec.json.Decoder(_Raws)
_ENTRY = msgspec.json.Decoder(_Entry)


def parse_json_page(body: bytes, url: str, name: NormalizedName, index_url: str) -> ProjectPage:
    """A PEP 691 page, decoded lazily.

    Real pages list thousands of files (torch's is 7 MB) and the solver looks at a few
    versions, so two passes in C keep each entry's filename and its raw JSON text; the
    entry itself is decoded only when its version is asked for (:func:`_raw_file`).
    Decoding every entry up front cost 3-4x more on real pages."""
    try:
        names = _NAMES.decode(body).files
        raws = _RAWS.decode(body).files
        if len(names) == len(raws):
            return ProjectPage(
                name, index_url, raws, build=lambda e: _raw_file(e, url),
                filenames=[n.filename for n in names],
            )
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass  # not the usual shape (an entry that is not an object, …): the lenient path
    try:
        data = json.loads(body)
        entries = data["files"]
        if not isinstance(entries, list):
            raise TypeError("'files' is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexResponseError(f"{redact(url)}: malformed PEP 691 JSON page ({exc})") from exc
    return ProjectPage(
        name, index_url, entries, build=lambda e: _json_file(e, url),
        filenames=[e.get("filename") if isinstance(e, dict) else None for e in entries],
    )


def _raw_file(raw: msgspec.Raw, page_url: str) -> DistFile | None:
    try:
        entry = _ENTRY.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None  # cannot happen for text the page pass accepted as an object
    return _struct_file(entry, page_url)


def _struct_file(entry: _Entry, page_url: str) -> DistFile | None:
    core = entry.core_metadata
    return _dist_file(
        page_url, entry.filename, entry.url, entry.hashes, entry.requires_python, entry.yanked,
        entry.upload_time, entry.size, entry.dist_info_metadata if core is msgspec.UNSET else core,
    )


def _json_file(entry: dict[str, Any], page_url: str) -> DistFile | None:
    if not isinstance(entry, dict):
        return None
    return _dist_file(
        page_url, entry.get("filename"), entry.get("url"), entry.get("hashes"),
        entry.get("requires-python"), entry.get("yanked", False), entry.get("upload-time"),
        entry.get("size"), entry.get("core-metadata", entry.get("dist-info-metadata", False)),
    )


def _dist_file(
    page_url: str,
    filename: object,
    file_url: object,
    hashes: object,
    requires_python: object,
    yanked: object,
    upload_time: object,
    size: object,
    core_metadata: object,
) -> DistFile | None:
    """One PEP 691 ``files`` entry; None when it is malformed (skipped, as pip does).

    Every field is checked for type and shape (:mod:`ftlock.untrusted`): a value
    of the wrong type is dropped (optional fields) or skips the entry (filename, url)."""
    if not isinstance(filename, str) or not isinstance(file_url, str) or not filename:
        return None
    if "/" in filename or "\\" in filename or any(ch in filename for ch in "\r\n\x00"):
        return None
    try:
        file_url = urljoin(page_url, file_url)
        urlsplit(file_url)  # a broken URL raises ValueError: the entry is skipped
    except ValueError:
        return None
    if not file_url_allowed(file_url, page_url):
        return None
    has_meta, meta_hash = _metadata_hash(core_metadata)
    sha256, invalid = _hashes(hashes)
    return DistFile(
        filename=filename,
        url=file_url,
        sha256=sha256,
        requires_python=text_or_none(requires_python),
        yanked=yanked is True or (isinstance(yanked, str) and yanked != ""),
        yanked_reason=text_or_none(yanked),
        upload_time=upload_time_or_none(upload_time),
        size=size_or_none(size),
        metadata_sha256=meta_hash,
        has_metadata_file=has_meta,
        invalid_hash=invalid,
    )


def parse_html_page(body: bytes, url: str, name: NormalizedName, index_url: str) -> ProjectPage:
    from ftlock.index.anchors import AnchorParser  # noqa: PLC0415 - html.parser: 2.6 ms, HTML pages only

    parser = AnchorParser()
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
        if not file_url_allowed(absolute, url):
            continue
        filename = unquote(urlsplit(absolute).path.rsplit("/", 1)[-1]) or text
        if not filename or "/" in filename or any(ch in filename for ch in "\r\n\x00"):
            continue
        sha256 = None
        invalid = False
        if fragment.startswith("sha256="):
            sha256 = sha256_or_none(fragment.removeprefix("sha256="))
            invalid = sha256 is None
        yanked_attr = attrs.get("data-yanked")
        meta_attr = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        has_meta = meta_attr is not None and meta_attr != "false"
        meta_hash = None
        if meta_attr and meta_attr.startswith("sha256="):
            meta_hash = sha256_or_none(meta_attr.removeprefix("sha256="))
            has_meta = meta_hash is not None
        files.append(
            DistFile(
                filename=filename,
                url=absolute,
                sha256=sha256,
                requires_python=text_or_none(attrs.get("data-requires-python")),
                yanked="data-yanked" in attrs,  # PEP 592: the attribute may have no value
                yanked_reason=text_or_none(yanked_attr),
                metadata_sha256=meta_hash,
                has_metadata_file=has_meta,
                invalid_hash=invalid,
            )
        )
    return ProjectPage.of(name, index_url, files)


def parse_page(
    body: bytes, content_type: str, url: str, name: NormalizedName, index_url: str
) -> ProjectPage:
    if content_type.split(";")[0].strip() == JSON_CONTENT_TYPE:
        return parse_json_page(body, url, name, index_url)
    return parse_html_page(body, url, name, index_url)
