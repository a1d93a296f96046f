"""Existing environments: solve on top of a base (a ``pip freeze`` or a live interpreter)
so that the WHOLE resulting environment is consistent, changing as few installed packages
as possible.

Every base package becomes a root requirement (it stays installed) whose installed version
is *preferred* (tried first while it fits) — or pinned exactly with ``--keep-base``.
Packages installed from outside the index (a ``+cu124`` torch from a URL, a git install, a
name the index does not have) are kept as they are: they enter the solve as single fixed
candidates with the metadata recorded for them (the live interpreter's, or the index's
metadata of the same public version, or none — and the summary says which).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import msgspec
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from ftlock._values import replace
from ftlock.errors import FtlockError, UsageError
from ftlock.resolve.candidates import Candidate, Requirement
from ftlock.resolve.facts import KeptFromBase, UncheckedRequirements
from ftlock.resolve.freeze import unlisted
from ftlock.index.models import Metadata
from ftlock.resolve.pins import parse_pin
from ftlock.resolve.reqfile import read_file



class BasePackage(msgspec.Struct, frozen=True):
    name: NormalizedName
    version: str | None  # None when a URL install does not reveal it
    url: str | None = None  # set for packages installed from a URL / VCS / local path
    source: str = ""  # "file:line" or "environment"
    metadata: Metadata | None = None  # recorded metadata (live environments)

    @property
    def parsed_version(self) -> Version | None:
        try:
            return Version(self.version) if self.version else None
        except InvalidVersion:
            return None

    def shown(self) -> str:
        return f"{self.name} {self.version or '(unknown version)'}"


def _version_from_url(url: str) -> str | None:
    """``torch-2.6.0%2Bcu124-cp311-…whl`` → ``2.6.0+cu124``; sdists likewise."""
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        return parts[1] if len(parts) >= 5 else None
    for ext in (".tar.gz", ".zip"):
        if filename.endswith(ext):
            stem = filename[: -len(ext)]
            return stem.rsplit("-", 1)[1] if "-" in stem else None
    return None


def read_freeze(path: Path) -> dict[NormalizedName, BasePackage]:
    """A ``pip freeze`` / ``pip list --format=freeze`` output."""
    packages: dict[NormalizedName, BasePackage] = {}
    for number, raw in enumerate(read_file(path).splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        if line.startswith(("-e ", "--editable")):
            url = line.split(None, 1)[1]
            match = re.search(r"[#&]egg=([A-Za-z0-9._-]+)", url)
            if match:
                name = canonicalize_name(match.group(1))
                packages[name] = BasePackage(name, None, url, where)
            continue
        if line.startswith("-"):
            continue  # pip options in a hand-edited freeze
        pin = parse_pin(line)
        if pin is None:
            raise UsageError(f"{where}: not a pip freeze line: {line[:60]!r}")
        if pin.url is None:
            packages[pin.name] = BasePackage(pin.name, pin.version, None, where)
        else:
            packages[pin.name] = BasePackage(pin.name, _version_from_url(pin.url), pin.url, where)
    if not packages:
        raise UsageError(f"{path}: no packages found (expected `pip freeze` output)")
    return packages


def read_python(python: str) -> dict[NormalizedName, BasePackage]:
    """Installed distributions of a live interpreter, with their recorded metadata."""
    from ftlock.resolve.live import read_live_environment  # noqa: PLC0415 - --base-python only

    _, installed = read_live_environment(python)
    return {
        canonicalize_name(d.name): BasePackage(
            canonicalize_name(d.name), d.version, None, "environment", d.metadata
        )
        for d in installed.values()
    }


class BaseEnvironment(msgspec.Struct):
    """The base, classified against the index for the target."""

    packages: dict[NormalizedName, BasePackage]
    keep: bool = False
    external: dict[str, Candidate] = msgspec.field(default_factory=dict)
    external_metadata: dict[str, Metadata] = msgspec.field(default_factory=dict)
    kept: dict[str, KeptFromBase] = msgspec.field(default_factory=dict)  # the external ones, why kept
    #: installed at an unknown version: what a freeze without --all leaves out
    #: (ftlock.resolve.freeze); requirements on them are not checked
    unknown: frozenset[str] = frozenset()
    #: (package, version) -> the requirements on unknown packages its metadata had
    unchecked: dict[tuple[str, str], tuple[str, ...]] = msgspec.field(default_factory=dict)

    @classmethod
    def from_freeze(cls, path: Path, keep: bool = False) -> BaseEnvironment:
        """A ``pip freeze`` as the base; what it leaves out without ``--all`` is unknown."""
        packages = read_freeze(path)
        return cls(packages, keep=keep, unknown=unlisted(packages))

    def without_unknown(self, metadata: Callable[[Candidate], Metadata]) -> Callable[[Candidate], Metadata]:
        """``metadata`` without the requirements on :attr:`unknown` packages: they are
        installed, at a version the freeze does not say, so the solver neither checks nor
        "adds" them.  What was left out is kept in :attr:`unchecked` for the warning."""
        if not self.unknown:
            return metadata

        def read(candidate: Candidate) -> Metadata:
            found = metadata(candidate)
            kept: list[str] = []
            dropped: list[str] = []
            for text in found.requires_dist:
                name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", text)
                if name is not None and canonicalize_name(name.group(1)) in self.unknown:
                    dropped.append(text)
                else:
                    kept.append(text)
            if not dropped:
                return found
            self.unchecked[(candidate.name, str(candidate.version))] = tuple(dropped)
            return replace(found, requires_dist=tuple(kept))

        return read

    def unchecked_warnings(self, pinned: dict[str, str], markers: dict[str, str]) -> list[UncheckedRequirements]:
        """One warning per unknown package that a locked package requires (its marker true on
        the target): those requirements were not checked."""
        from packaging.requirements import InvalidRequirement
        from packaging.requirements import Requirement as PkgRequirement

        by_name: dict[str, list[str]] = {}
        for (name, version), texts in self.unchecked.items():
            if pinned.get(name) != version:
                continue  # a version the solver tried and left
            for text in texts:
                try:
                    req = PkgRequirement(text)
                except InvalidRequirement:
                    continue
                if req.marker is not None and not req.marker.evaluate({**markers, "extra": ""}):
                    continue
                by_name.setdefault(canonicalize_name(req.name), []).append(
                    f"{name} {version} requires {req.name}{req.specifier or ''}"
                )
        return [UncheckedRequirements(name, tuple(lines)) for name, lines in sorted(by_name.items())]

    def classify(self, finder) -> None:
        """Decide which base packages the index can provide and which are kept as-is."""
        for name, pkg in sorted(self.packages.items()):
            version = pkg.parsed_version
            on_index = None
            if pkg.url is None and version is not None:
                try:
                    on_index = finder.candidates(name).get(version)
                except FtlockError:
                    on_index = None
            if on_index is not None and any(f.is_wheel for f in on_index.files):
                continue
            if on_index is not None and pkg.metadata is None:
                # sdist only: learning its requirements would mean building it (and stub
                # sdists of packages hosted elsewhere fail to build on purpose)
                assert version is not None  # the index is only asked about a known version
                url = f"installed:{name}=={pkg.version}"
                self.external[name] = Candidate(name, version, (), None, url=url)
                self.external_metadata[url] = Metadata(name, str(version), ())
                self.kept[name] = KeptFromBase(name, None, sdist_only=True, recorded_metadata=False)
                continue
            # kept as installed: one fixed candidate with the best metadata we have
            url = pkg.url or f"installed:{name}=={pkg.version}"
            # Only metadata recorded from the installed package itself is trusted: the index's
            # metadata of a same-numbered release (torch 2.6.0 for 2.6.0+cu124) describes a
            # different build, and acting on it would "fix" packages that are fine.
            recorded = pkg.metadata
            self.kept[name] = KeptFromBase(name, pkg.url, sdist_only=False, recorded_metadata=recorded is not None)
            if recorded is None:
                recorded = Metadata(name, pkg.version or "0", ())
            shown_version = version or Version("0")
            self.external[name] = Candidate(name, shown_version, (), None, url=url)
            self.external_metadata[url] = Metadata(
                name, str(shown_version), recorded.requires_dist, recorded.requires_python
            )

    def requirements(self, released: set[str] | frozenset[str] = frozenset()) -> list[Requirement]:
        """One root requirement per installed package: kept as installed (external), pinned
        to the installed version, or — once ``released`` — free, with that version preferred."""
        reqs = []
        for name, pkg in sorted(self.packages.items()):
            if name in self.external:
                cand = self.external[name]
                reqs.append(Requirement(name, url=cand.url, text=f"{name} (installed)"))
            elif pkg.version and name not in released:
                flag = ", --keep-base" if self.keep else ""
                reqs.append(
                    Requirement(
                        name, SpecifierSet(f"=={pkg.version}"), text=f"{name}=={pkg.version} (installed{flag})"
                    )
                )
            else:
                reqs.append(Requirement(name, text=f"{name} (installed)"))
        return reqs

    def release(self, causes, released: set[str]) -> set[str]:
        """Installed packages a conflict involves that may change next (none with --keep-base)."""
        if self.keep:
            return set()
        names = set()
        for info in causes:
            names.add(info.requirement.name)
            if info.parent is not None:
                names.add(info.parent.name)
        return {
            n for n in names
            if n in self.packages and n not in self.external and n not in released
        }

    def installed_versions(self) -> dict[str, Version]:
        return {n: p.parsed_version for n, p in self.packages.items() if p.parsed_version is not None}

    def preferred(self) -> tuple[tuple[str, str], ...]:
        return tuple(
            (name, pkg.version) for name, pkg in sorted(self.packages.items()) if pkg.version
        )
