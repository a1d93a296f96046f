"""Requirements and candidates as the resolvelib provider sees them, and the finder that
turns an index page into the ordered candidate list for one project on the target.

Extras follow pip's model: ``pkg[a,b]`` is its own identifier whose candidate depends on
``pkg==<same version>``, so an extra never splits a package into two versions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PkgRequirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from ftlock.untrusted import parse_pep508, shorten
from ftlock.errors import UsageError
from ftlock.index.client import IndexClient
from ftlock.index.filenames import Ranges, files_in, group_ranges
from ftlock.resolve.formats import Format, FormatControl
from ftlock.index.models import DistFile, ProjectPage
from ftlock.resolve.target import Target

PYTHON = NormalizedName("<python>")  # pseudo-identifier for a candidate's Requires-Python


def identifier_of(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


@dataclass(frozen=True)
class Requirement:
    """One requirement on one identifier, remembering where it came from."""

    name: NormalizedName
    specifier: SpecifierSet = field(default_factory=SpecifierSet)
    extras: frozenset[str] = frozenset()
    url: str | None = None
    text: str = ""  # as written (PEP 508), for messages
    # knowledge rules: a version range the package must stay out of, whether an absent
    # package satisfies the requirement, and the rule that added it
    exclude: SpecifierSet | None = None
    optional: bool = False
    rule: Any = field(default=None, compare=False)
    # an installed version the exclusion tolerates: a rule already broken in a base
    # environment is reported, not "fixed" by moving packages the request does not touch
    allow: Version | None = None

    @property
    def identifier(self) -> str:
        return identifier_of(self.name, self.extras)

    def accepts_version(self, version: Version) -> bool:
        if not self.specifier.contains(version, prereleases=True):
            return False
        return not self.excludes(version)

    def excludes(self, version: Version) -> bool:
        """Whether a knowledge rule's exclusion rules this version out."""
        if self.exclude is None or version == self.allow:
            return False
        return self.exclude.contains(version, prereleases=True)

    @property
    def pins_exactly(self) -> bool:
        return any(s.operator in ("==", "===") and "*" not in s.version for s in self.specifier)

    @property
    def upper_bounded(self) -> bool:
        return any(s.operator in ("<", "<=", "~=", "==", "===") for s in self.specifier)

    def describe(self) -> str:
        if self.exclude is not None:
            return f"{self.name} not {self.exclude}" + (" (if installed)" if self.optional else "")
        if self.text:
            return self.text
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        return f"{self.name}{extras}{self.specifier}" if not self.url else f"{self.name} @ {self.url}"

    @classmethod
    def from_pep508(cls, req: PkgRequirement, text: str | None = None) -> Requirement:
        return cls(
            name=canonicalize_name(req.name),
            specifier=req.specifier,
            extras=frozenset(canonicalize_name(e) for e in req.extras),
            url=req.url,
            text=text if text is not None else str(req),
        )

    @classmethod
    def parse(cls, text: str) -> Requirement:
        try:
            return cls.from_pep508(parse_pep508(text), text.strip())
        except InvalidRequirement as exc:
            first = str(exc).splitlines()[0]
            raise UsageError(f"invalid requirement {shorten(text.strip())!r}: {first}") from None


class Candidate(msgspec.Struct, frozen=True, eq=False):
    """A concrete version of a project (with extras, when the identifier has some).

    ``files`` are the version's files that install on the target; the lock hashes all of
    them.  ``metadata_file`` is the one whose metadata is read.
    """

    name: NormalizedName
    version: Version
    files: tuple[DistFile, ...] = ()
    index_url: str | None = None
    extras: frozenset[str] = frozenset()
    url: str | None = None  # direct reference
    yanked: bool = False

    @property
    def identifier(self) -> str:
        return identifier_of(self.name, self.extras)

    @property
    def key(self) -> tuple[str, str, frozenset[str], str | None]:
        return (self.name, str(self.version), self.extras, self.url)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Candidate) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def with_extras(self, extras: frozenset[str]) -> Candidate:
        return Candidate(
            self.name, self.version, self.files, self.index_url, extras, self.url, self.yanked
        )

    def __repr__(self) -> str:
        return f"{self.identifier}=={self.version}"


class AbsentCandidate(msgspec.Struct, frozen=True):
    """"Not installed": the first choice for a package only knowledge rules mention.

    Conflict rules add optional requirements ("B must not be in Y, if present"); an absent
    B satisfies them, so rules never pull packages in.  Writers drop these candidates.
    """

    name: NormalizedName
    version: None = None
    extras: frozenset[str] = frozenset()
    url: None = None

    @property
    def identifier(self) -> str:
        return self.name

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, "<absent>")


class PythonCandidate(msgspec.Struct, frozen=True):
    """The target's Python, the only candidate of the ``<python>`` pseudo-identifier."""

    version: Version
    identifier: str = PYTHON


class ProjectCandidates:
    """Candidates of one project, newest first, each version checked only when reached.

    Real pages hold thousands of files (every platform of every release); the solver
    usually needs the newest one or two versions, so tag and Requires-Python checks run
    per version on first iteration and are remembered.
    """

    def __init__(
        self,
        finder: CandidateFinder,
        name: NormalizedName,
        page: ProjectPage,
        by_version: dict[Version, Ranges],
    ) -> None:
        self._finder = finder
        self.name = name
        self._page = page
        self._pending = sorted(by_version.items(), reverse=True)
        self._entries = by_version
        self._single: dict[Version, Candidate | None] = {}
        self._built: list[Candidate] = []
        self._position = 0  # how many of _pending have been built
        self._lock = threading.Lock()

    def _files(self, ranges: Ranges) -> list[tuple[str, Any]]:
        return files_in(self._page.filenames, self._page.entries, ranges)

    def versions(self) -> list[Version]:
        """Every version on the page, newest first, whether or not it installs on the
        target: enough to tell whether two requirements can agree, without building."""
        return [version for version, _ in self._pending]

    def get(self, version: Version) -> Candidate | None:
        """The candidate of exactly ``version`` (built alone, without scanning newer ones)."""
        with self._lock:
            if version not in self._single:
                ranges = self._entries.get(version)
                self._single[version] = (
                    self._finder.build(self.name, version, self._files(ranges), self._page)
                    if ranges else None
                )
            return self._single[version]

    def __iter__(self) -> Iterator[Candidate]:
        index = 0
        while True:
            with self._lock:
                if index < len(self._built):
                    candidate = self._built[index]
                elif self._position < len(self._pending):
                    version, ranges = self._pending[self._position]
                    self._position += 1
                    built = self._finder.build(self.name, version, self._files(ranges), self._page)
                    if built is None:
                        continue
                    self._built.append(built)
                    candidate = built
                else:
                    return
            index += 1
            yield candidate


class CandidateFinder:
    """Ordered candidates (newest first) for a project, filtered for the target.

    A version is a candidate when at least one of its files installs on the target
    (compatible wheel tags or an sdist), admits the target Python, was uploaded before
    ``exclude_newer`` and is of a format ``formats`` allows for the project (pip's
    ``--only-binary``/``--no-binary``).  Only those files are the candidate's, so the lock
    hashes exactly what the policy lets pip install.  Versions whose every remaining file is
    yanked are kept but flagged: the provider offers them only to an ``==`` pin (PEP 592).
    """

    def __init__(
        self,
        index: IndexClient,
        target: Target,
        exclude_newer: datetime | None = None,
        formats: FormatControl = FormatControl(),
    ) -> None:
        self.index = index
        self.target = target
        self.exclude_newer = exclude_newer
        self.formats = formats
        self._cutoff = exclude_newer.timestamp() if exclude_newer is not None else None
        self._lock = threading.Lock()
        self._cache: dict[str, ProjectCandidates] = {}
        self._building: dict[str, threading.Lock] = {}
        # versions that install on the target but not in a format the policy allows, so a
        # failed solve can name the flag instead of saying "no such version"
        self._ruled_out: dict[NormalizedName, set[Version]] = {}

    def candidates(self, name: str) -> ProjectCandidates:
        """The project's candidates, newest first; built lazily, version by version.

        The solver and the prefetcher's callbacks ask for the same project at once; one of
        them groups the page (torch's lists thousands of files), the others wait for it.
        The page is had before any lock is taken: the thread that fetches it runs the
        callbacks waiting on it, and those ask for these candidates too."""
        with self._lock:
            found = self._cache.get(name)
            if found is not None:
                return found
        page = self.index.project(name)
        with self._lock:
            building = self._building.setdefault(name, threading.Lock())
        with building:
            with self._lock:
                found = self._cache.get(name)
            if found is not None:
                return found
            wanted = canonicalize_name(name)
            by_version = group_ranges(page.filenames, wanted)
            result = ProjectCandidates(self, wanted, page, by_version)
            with self._lock:
                self._cache[name] = result
                self._building.pop(name, None)
            return result

    def build(
        self,
        name: NormalizedName,
        version: Version,
        entries: list[tuple[str, Any]],
        page: ProjectPage,
    ) -> Candidate | None:
        """The candidate for one version on the target, or None when nothing installs.

        Entries are ``(filename, raw entry)``: the filename alone rules out most files
        (other platforms' wheels), so only the rest are decoded and checked."""
        files = (page.build(e) for filename, e in entries if self._may_install(filename))
        installable = [f for f in files if f is not None and self._usable(f)]
        usable = self._allowed_formats(name, version, installable)
        if not usable:
            return None
        live = [f for f in usable if not f.yanked]
        chosen = sorted(live or usable, key=self._file_order)
        return Candidate(name, version, tuple(chosen), page.index_url, yanked=not live)

    def _allowed_formats(
        self, name: NormalizedName, version: Version, files: list[DistFile]
    ) -> list[DistFile]:
        """The files of a format the policy allows for ``name``; remembers a version that
        installs on the target only in a format the policy rules out."""
        allowed = self.formats.allowed(name)
        if len(allowed) == 2:
            return files
        kept = [f for f in files if (Format.BINARY if f.is_wheel else Format.SOURCE) in allowed]
        if files and not kept:
            with self._lock:
                self._ruled_out.setdefault(name, set()).add(version)
        return kept

    def policy_note(self, name: str, requirements: Sequence[Requirement] = ()) -> str | None:
        """Why versions ``requirements`` accept are missing, when the binary policy is the
        reason: ``--only-binary :all: rules out x 1.0 (no wheel for CPython 3.11, …)``.
        Versions are remembered as :meth:`build` meets them, which the failed search did."""
        wanted = canonicalize_name(name)
        with self._lock:
            versions = sorted(self._ruled_out.get(wanted, ()), reverse=True)
        versions = [
            v for v in versions if all(r.accepts_version(v) for r in requirements if not r.url)
        ]
        flag = self.formats.restricting_flag(wanted)
        if not versions or flag is None:
            return None
        shown = ", ".join(str(v) for v in versions[:3]) + (
            f" and {len(versions) - 3} more" if len(versions) > 3 else ""
        )
        if Format.BINARY in self.formats.allowed(wanted):
            why = f"no wheel for {self.target.describe()}"
        else:
            why = "no sdist"
        return f"{flag} rules out {wanted} {shown} ({why})"

    def _may_install(self, filename: str) -> bool:
        """Whether a file of this name can install on the target: a wheel with a tag the
        target accepts, or an sdist."""
        if filename.endswith(".whl"):
            return self.target.wheel_priority(filename) is not None
        return filename.endswith((".tar.gz", ".zip"))

    def _usable(self, file: DistFile) -> bool:
        """The checks that need the entry itself (its filename passed :meth:`_may_install`
        before it was built)."""
        if not self.target.admits_python(file.requires_python):
            return False
        if self._cutoff is not None:
            if file.upload_time is None or file.upload_time > self._cutoff:
                return False
        return True

    def _file_order(self, file: DistFile) -> tuple[int, int, str]:
        """Wheels before sdists; among wheels, the target's preferred tag first."""
        if file.is_wheel:
            return (0, self.target.wheel_priority(file.filename) or 0, file.filename)
        return (1, 0, file.filename)

    @staticmethod
    def metadata_file(candidate: Candidate) -> DistFile:
        """The file to read metadata from: a wheel (PEP 658 advertised first), else sdist."""
        wheels = [f for f in candidate.files if f.is_wheel]
        if wheels:
            with_meta = [f for f in wheels if f.has_metadata_file]
            return (with_meta or wheels)[0]
        return candidate.files[0]
