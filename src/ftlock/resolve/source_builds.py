"""Locked packages that pip will compile at install time.

A lock that holds only an sdist of a version (no wheel for the target) makes pip build it
during ``pip install -r lock.txt``.  For the projects listed in
``gpu/catalog/source_builds.toml`` that build compiles CUDA kernels — an hour, a CUDA
toolkit, torch installed beforehand — which a reader of the lock cannot guess from one
``name==version`` line.  :func:`annotate` records it next to the pin and among the warnings
(a :class:`~ftlock.resolve.facts.SourceBuild`; the lock writer and the CLI word it).  Which
projects do this is data, not code: a new one is a TOML entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from packaging.utils import canonicalize_name

from ftlock._values import replace
from ftlock.gpu import CATALOG_DIR
from ftlock.resolve.facts import SourceBuild
from ftlock.resolve.result import LockedPackage


CATALOG = CATALOG_DIR / "source_builds.toml"


@dataclass(frozen=True)
class Compiles:
    """A project whose sdist compiles GPU code when installed."""

    name: str
    compiles: str
    prebuilt: str | None


@lru_cache(maxsize=1)
def catalog() -> dict[str, Compiles]:
    """The catalog, validated.  pydantic is imported here, not with the module: it costs
    ~0.1 s and a solve needs the catalog only when it locks an sdist-only package."""
    from pydantic import BaseModel, ConfigDict, Field, HttpUrl  # noqa: PLC0415

    class _ProjectData(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        name: str
        compiles: str = Field(min_length=3)  # what the build compiles, for the message
        prebuilt: HttpUrl | None = None  # where its setup.py looks for prebuilt wheels first
        sources: tuple[HttpUrl, ...] = Field(min_length=1)

    class _CatalogData(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        project: tuple[_ProjectData, ...]

    from ftlock._toml import tomllib  # noqa: PLC0415 - with the catalog only

    data = _CatalogData.model_validate(tomllib.loads(CATALOG.read_text(encoding="utf-8")))
    return {
        canonicalize_name(p.name): Compiles(
            canonicalize_name(p.name), p.compiles, str(p.prebuilt) if p.prebuilt else None
        )
        for p in data.project
    }


def sdist_only(package: LockedPackage) -> bool:
    """Locked from the index with files, none of them a wheel for the target."""
    return package.url is None and bool(package.files) and not any(f.is_wheel for f in package.files)


def annotate(packages: tuple[LockedPackage, ...]) -> tuple[tuple[LockedPackage, ...], list[SourceBuild]]:
    """``packages`` with a note on each sdist-only pin that compiles GPU code, and those
    notes again, for the warnings."""
    if not any(sdist_only(p) for p in packages):
        return packages, []
    known = catalog()
    warnings: list[SourceBuild] = []
    out = []
    for package in packages:
        build = known.get(package.name)
        if build is not None and sdist_only(package):
            fact = SourceBuild(package.name, package.version, build.compiles, build.prebuilt)
            package = replace(package, notes=(*package.notes, fact))
            warnings.append(fact)
        out.append(package)
    return tuple(out), warnings
