"""Small immutable values that cross module boundaries inside the resolver.

No runtime imports beyond the standard library: the lock writers and the solve cache use
these values without paying for packaging's tag machinery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import msgspec

if TYPE_CHECKING:  # pragma: no cover
    from packaging.utils import NormalizedName


class DistFile(msgspec.Struct, frozen=True):
    """One file on an index page (PEP 691 ``files`` entry / PEP 503 anchor)."""

    filename: str
    url: str
    sha256: str | None
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    upload_time: float | None = None  # POSIX seconds (cheap to store and compare)
    size: int | None = None
    metadata_sha256: str | None = None  # PEP 658/714: set when a .metadata file exists
    has_metadata_file: bool = False
    #: the index claimed a sha256 that is not one (dropped: ``sha256`` is None)
    invalid_hash: bool = False

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def is_sdist(self) -> bool:
        return self.filename.endswith((".tar.gz", ".zip"))


class ProjectPage(msgspec.Struct, frozen=True):
    """All files one index offers for one project.

    Real pages list thousands of files (every platform of every release) and the solver
    looks at a few versions, so entries stay in the parser's raw form until asked for:
    ``filenames`` (one per entry, as the index sent it: possibly not a string) is cheap,
    :meth:`build` makes the :class:`DistFile` of one entry on demand.
    """

    name: NormalizedName
    index_url: str
    entries: Sequence[Any]
    build: Callable[[Any], DistFile | None]
    filenames: Sequence[object] = ()

    @classmethod
    def of(cls, name: NormalizedName, index_url: str, files: Sequence[DistFile]) -> ProjectPage:
        return cls(name, index_url, tuple(files), lambda f: f, [f.filename for f in files])

    @property
    def files(self) -> list[DistFile]:
        """Every entry whose filename is a string, built (the malformed ones left out)."""
        built = (self.build(e) for name, e in zip(self.filenames, self.entries) if type(name) is str)
        return [f for f in built if f is not None]


class Metadata(msgspec.Struct, frozen=True):
    """The parts of core metadata a resolver needs."""

    name: str
    version: str
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None
    provides_extra: tuple[str, ...] = msgspec.field(default=())

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "requires_dist": list(self.requires_dist),
            "requires_python": self.requires_python,
            "provides_extra": list(self.provides_extra),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Metadata:
        return cls(
            name=str(data["name"]),
            version=str(data["version"]),
            requires_dist=tuple(cast("list[str]", data.get("requires_dist") or ())),  # written by to_json
            requires_python=cast("str | None", data.get("requires_python")),
            provides_extra=tuple(cast("list[str]", data.get("provides_extra") or ())),
        )
