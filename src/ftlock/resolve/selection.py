"""Which versions of one project the solver may try, and in which order.

The provider builds a :class:`Selection` from the requirements on an identifier as they
stand when resolvelib asks, and hands resolvelib :meth:`Selection.candidates` lazily:
versions the solver never reaches are never checked.

The order is newest first, except that a *preferred* version (an existing lock's pin, an
installed package) comes first while it still fits, so a re-lock changes only what it
must.  A version is left out when a requirement, the constraint or a knowledge rule's
exclusion rules it out; when it is a pre-release and pip's rule does not admit them
(:mod:`ftlock.resolve.prereleases`); when it is yanked and no ``==`` pin names it (PEP
592); and when resolvelib already found it incompatible.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import msgspec
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from ftlock.resolve.candidates import Candidate, ProjectCandidates, Requirement
from ftlock.resolve.prereleases import Prerelease, admits_prereleases

class Selection(msgspec.Struct, frozen=True):
    """The versions of one project that the current requirements allow."""

    specifiers: tuple[SpecifierSet, ...]  # every requirement's, and the constraint's
    excluding: tuple[Requirement, ...] = ()  # requirements carrying a rule's exclusion
    extras: frozenset[str] = frozenset()
    incompatible: frozenset[Any] = frozenset()  # keys of candidates resolvelib ruled out
    preferred: Version | None = None
    wheels_only: bool = False  # a base environment's package never moves to an sdist

    @classmethod
    def of(
        cls,
        requirements: Sequence[Requirement],
        constraint: SpecifierSet,
        incompatible: frozenset[Any] = frozenset(),
        preferred: Version | None = None,
        wheels_only: bool = False,
    ) -> Selection:
        return cls(
            specifiers=tuple(r.specifier for r in requirements) + (constraint,),
            excluding=tuple(r for r in requirements if r.exclude is not None),
            extras=requirements[0].extras if requirements else frozenset(),
            incompatible=incompatible,
            preferred=preferred,
            wheels_only=wheels_only,
        )

    @property
    def key(self) -> tuple[str, ...]:
        """What decides :meth:`admits_prereleases`, for memoising it per project."""
        return tuple(sorted(str(s) for s in self.specifiers if len(s))) + tuple(
            str(r.exclude) for r in self.excluding
        )

    def fits(self, candidate: Candidate) -> bool:
        """Allowed for this solve and inside every requirement, pre-release or not."""
        version = candidate.version
        if self.wheels_only and version != self.preferred and not any(f.is_wheel for f in candidate.files):
            return False
        if not all(s.contains(version, prereleases=True) for s in self.specifiers):
            return False
        return not any(r.excludes(version) for r in self.excluding)

    def admits_prereleases(self, policy: Prerelease, project: ProjectCandidates) -> bool:
        """pip's rule: reads the project's versions only when no specifier decides it."""
        return admits_prereleases(
            policy,
            self.specifiers,
            lambda: any(not c.version.is_prerelease and self.fits(c) for c in project),
        )

    def candidates(self, project: ProjectCandidates, prereleases: bool) -> Iterator[Candidate]:
        """The versions to try, in order, with the identifier's extras."""
        first = None
        if self.preferred is not None:
            # looked up directly: scanning down to it on every question would be quadratic
            # on projects with thousands of releases
            exact = project.get(self.preferred)
            first = self._usable(exact, True) if exact is not None else None
            if first is not None:
                yield first
        for candidate in project:
            usable = self._usable(candidate, prereleases)
            if usable is not None and (first is None or usable.version != self.preferred):
                yield usable

    def _usable(self, candidate: Candidate, prereleases: bool) -> Candidate | None:
        if candidate.yanked and not self._pinned_exactly(candidate.version):
            return None
        if candidate.version.is_prerelease and not prereleases:
            return None
        if not self.fits(candidate):
            return None
        full = candidate.with_extras(self.extras) if self.extras else candidate
        return None if full.key in self.incompatible else full

    def _pinned_exactly(self, version: Version) -> bool:
        """Whether an ``==``/``===`` pin names ``version`` (a yanked version's only way in)."""
        for specifier_set in self.specifiers:
            for spec in specifier_set:
                if spec.operator not in ("==", "==="):
                    continue
                if spec.version == str(version):
                    return True
                try:
                    if Version(spec.version) == version:
                        return True
                except InvalidVersion:
                    continue
        return False
