"""What the GPU catalogs (``catalog/*.toml``) are checked with when loaded.

They are plain msgspec structs, not pydantic models: ``--gpu`` solves load them every
time, and pydantic (import and model building) cost ~85 ms of a 0.7 s cold solve for a
few kilobytes of ftlock's own data.  The checks are the same: unknown keys refused, types
exact, patterns and minimum lengths as declared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

import msgspec

from ftlock._toml import tomllib

#: an http(s) URL with a host (what pydantic's ``HttpUrl`` accepted for these files)
HttpUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s/?#]+[^\s]*$")]
#: a source list: at least one URL
Sources = Annotated[tuple[HttpUrl, ...], msgspec.Meta(min_length=1)]

T = TypeVar("T")


class Entry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Base of a catalog entry: immutable, unknown keys refused."""


def load(path: Path, kind: type[T] | Any) -> T:
    """``path``'s TOML checked against ``kind``; ``msgspec.ValidationError`` when it does
    not fit (the catalogs ship with ftlock, so that is a bug the tests catch)."""
    result: T = msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), type=kind)
    return result
