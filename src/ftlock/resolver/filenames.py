"""Project name and version from a distribution's filename (the hot loop over index pages)."""

from __future__ import annotations

from functools import lru_cache

from packaging.utils import (
    InvalidSdistFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
)
from packaging.version import InvalidVersion, Version


@lru_cache(maxsize=None)
def _version(text: str) -> Version:
    return Version(text)


@lru_cache(maxsize=65536)
def name_version(filename: str) -> tuple[NormalizedName, Version] | None:
    """Fast path of packaging's filename parsers (hot: every file of every page)."""
    try:
        if filename.endswith(".whl"):
            parts = filename[:-4].split("-")
            if len(parts) not in (5, 6):
                return None
            return canonicalize_name(parts[0]), _version(parts[1])
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)
    except (InvalidSdistFilename, InvalidVersion):
        return None
    return None
