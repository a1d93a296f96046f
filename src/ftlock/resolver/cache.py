"""On-disk cache: immutable metadata by file hash, and index pages with a freshness policy.

Metadata of a file never changes once the file's sha256 is known, so it is keyed by that
hash and never refetched.  Index pages do change; the index these tools usually talk to
sends no validators, so revalidation alone would save nothing.  The policy instead:

* a page fetched less than ``page_ttl`` seconds ago is used as is (``--refresh`` bypasses);
* a page fetched *after* the ``--exclude-newer`` date is complete for that solve — nothing
  uploaded later can matter — and is reused at any age;
* otherwise the page is refetched, sending ``If-None-Match``/``If-Modified-Since`` when the
  index gave validators, so a 304 costs one small round trip;
* ``--offline`` uses any cached page regardless of age.

Every entry is written to a temporary file and renamed into place, and its first line is
the sha256 of the JSON payload that follows, so a reader never sees a partial or corrupted entry (it is treated as a
miss and refetched).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ftlock.resolver.models import Metadata, ProjectPage
from ftlock.resolver.pages import page_from_json, page_to_json

CACHE_VERSION = "v2"


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ftlock"))


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class CachedPage:
    page: ProjectPage
    fetched_at: float
    etag: str | None
    last_modified: str | None


class Cache:
    """A directory of checksummed JSON entries; ``root=None`` disables caching."""

    def __init__(self, root: Path | None) -> None:
        self.root = root / CACHE_VERSION if root is not None else None

    @property
    def enabled(self) -> bool:
        return self.root is not None

    # -- low level -------------------------------------------------------------------------
    def _path(self, kind: str, key: str) -> Path:
        assert self.root is not None
        return self.root / kind / key[:2] / f"{key}.json"

    def _read(self, kind: str, key: str) -> dict | None:
        if self.root is None:
            return None
        path = self._path(kind, key)
        try:
            raw = path.read_bytes()
            checksum, _, blob = raw.partition(b"\n")
            if hashlib.sha256(blob).hexdigest().encode() != checksum:
                raise ValueError("checksum mismatch")
            return json.loads(blob)
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, OSError):
            # Corrupt or truncated entry: drop it so the caller refetches.
            try:
                path.unlink()
            except OSError:
                pass
            return None

    def _write(self, kind: str, key: str, payload: dict) -> None:
        if self.root is None:
            return
        path = self._path(kind, key)
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "wb") as fh:
                # first line: sha256 of the rest, so torn or corrupted entries are detected
                fh.write(hashlib.sha256(blob).hexdigest().encode() + b"\n" + blob)
            os.replace(tmp, path)
        except OSError:
            # A cache that cannot be written only costs speed, never correctness.
            pass

    # -- metadata --------------------------------------------------------------------------
    def get_metadata(self, file_sha256: str) -> Metadata | None:
        data = self._read("metadata", file_sha256)
        return Metadata.from_json(data) if data is not None else None

    def put_metadata(self, file_sha256: str, metadata: Metadata) -> None:
        self._write("metadata", file_sha256, metadata.to_json())

    # -- pages -----------------------------------------------------------------------------
    def get_page(self, index_url: str, name: str) -> CachedPage | None:
        data = self._read("pages", _key(f"{index_url}\n{name}"))
        if data is None:
            return None
        page = page_from_json(data["page"]) if data.get("page") is not None else None
        return CachedPage(
            page=page,  # type: ignore[arg-type]  # None records "not on this index"
            fetched_at=float(data["fetched_at"]),
            etag=data.get("etag"),
            last_modified=data.get("last_modified"),
        )

    def put_page(
        self,
        index_url: str,
        name: str,
        page: ProjectPage | None,
        etag: str | None = None,
        last_modified: str | None = None,
        fetched_at: float | None = None,
    ) -> None:
        self._write(
            "pages",
            _key(f"{index_url}\n{name}"),
            {
                "page": page_to_json(page) if page is not None else None,
                "fetched_at": time.time() if fetched_at is None else fetched_at,
                "etag": etag,
                "last_modified": last_modified,
            },
        )
