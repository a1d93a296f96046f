"""The resolvelib provider: answers the solver's questions from the finder and metadata.

It does no I/O itself beyond asking :class:`CandidateFinder` and the metadata callable,
which are backed by caches and a prefetching pool (:mod:`ftlock.resolve.solve`).

Which package to decide next follows current pip, then uv, so real ML stacks do not
backtrack for minutes: Requires-Python first, then the packages of the last conflict
(pip's backtrack causes), then packages that kept conflicting (promoted by
:mod:`ftlock.resolve.backtracking`); packages those conflicts blamed come last.  Among the
rest: direct references, ``==`` pins, then upper-bounded requirements (``torch<2.2``: they
rule versions of their dependencies out early, before an unbounded sibling pins
``numpy`` 2 and sends the solver backtracking through bystanders), then shallow before
deep, then the user's order.

Which versions are candidates — newest first, pre-releases by pip's rule
(:mod:`ftlock.resolve.prereleases`), yanked ones only for ``==`` pins — is decided in
:meth:`Provider.find_matches`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, Union

import msgspec
from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PkgRequirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider

import ftlock.resolve.resolvelib_compat  # noqa: F401  - cycle-safe result building

from ftlock._values import replace
from ftlock.untrusted import parse_pep508
from ftlock.errors import FtlockError, MetadataError, ProjectNotFound
from ftlock.resolve.candidates import (
    PYTHON,
    AbsentCandidate,
    Candidate,
    CandidateFinder,
    ProjectCandidates,
    PythonCandidate,
    Requirement,
)
from ftlock.resolve.backtracking import ConflictTracker, culprits
from ftlock.knowledge.classes import ReleaseFacts
from ftlock.index.models import Metadata
from ftlock.resolve.prereleases import DEFAULT, Prerelease
from ftlock.resolve.selection import Selection
from ftlock.resolve.target import Target

if TYPE_CHECKING:  # pragma: no cover
    from ftlock.knowledge.engine import Knowledge

__all__ = ["Dependencies", "Prerelease", "Provider", "parse_requirement", "target_dependencies", "target_requirements"]

AnyCandidate = Union[Candidate, PythonCandidate]


class _PreferenceFacts(NamedTuple):
    """What :meth:`Provider.preference` reads from a criterion's information list."""

    only_rules: bool  # every requirement comes from a knowledge rule
    direct: bool  # some requirement names a URL
    pinned: bool  # some requirement pins one version
    bounded: bool  # some requirement has an upper bound
    from_root: bool  # the user asked for it
    parents: tuple[str, ...]  # the identifiers that require it


class Dependencies(msgspec.Struct, frozen=True):
    """A candidate's requirements for the target, split by marker evaluation."""

    requirements: tuple[Requirement, ...]
    requires_python: str | None


@lru_cache(maxsize=65536)
def parse_requirement(text: str) -> PkgRequirement | None:
    """PEP 508 parsing is slow and the same strings recur across versions and between
    the prefetcher and the solver: memoise (bounded; the parsed values are never changed)."""
    try:
        return parse_pep508(text)
    except InvalidRequirement:
        return None


def target_dependencies(
    metadata: Metadata, extras: frozenset[str], target: Target
) -> list[PkgRequirement]:
    """Requirements of ``metadata`` that apply on ``target`` for the given extras.

    With no extras: requirements whose marker holds with ``extra == ""``.  With extras: only
    those that hold for one of the extras and not without (the base is required anyway).
    Unparseable entries are skipped, as pip does with a warning.
    """
    return [req for _, req in _applicable(metadata, extras, target)]


def target_requirements(metadata: Metadata, extras: frozenset[str], target: Target) -> list[Requirement]:
    """:func:`target_dependencies` as the solver's :class:`Requirement` values."""
    return [_requirement(text) for text, _ in _applicable(metadata, extras, target)]


@lru_cache(maxsize=65536)
def _requirement(text: str) -> Requirement:
    """Memoised like :func:`parse_requirement`: rendering a parsed requirement back to text
    (what :class:`Requirement` shows in messages) cost more than parsing it, once per
    dependency of every version the solver or the prefetcher looked at."""
    req = parse_requirement(text)
    assert req is not None  # only texts _applicable kept
    return Requirement.from_pep508(req)


def _applicable(
    metadata: Metadata, extras: frozenset[str], target: Target
) -> list[tuple[str, PkgRequirement]]:
    """The entries of Requires-Dist that apply, parsed.  The marker is looked at first,
    from the text: most entries of a big project are for extras nobody asked for
    (transformers lists ~300), and parsing each requirement only to drop it was a tenth
    of a cold solve's CPU.  A marker is parsed and evaluated once per marker text."""
    out: list[tuple[str, PkgRequirement]] = []
    for text in metadata.requires_dist:
        key, marker = _marker_of(text)
        if key is None:
            continue  # an invalid marker: the requirement is invalid too (skipped, as pip does)
        if marker is None:
            applies = not extras
        else:
            base = target.marker_holds(key, marker)
            applies = base if not extras else not base and any(target.marker_holds(key, marker, e) for e in extras)
        if applies and (req := parse_requirement(text)) is not None:
            out.append((text, req))
    return out


@lru_cache(maxsize=65536)
def _marker_of(text: str) -> tuple[str | None, Marker | None]:
    """``(memo key, marker)`` of the requirement written ``text``: ``(text, None)`` without
    a marker, ``(None, None)`` when the marker is invalid.  For a requirement that is not
    a URL one, the marker is what follows the first ``;`` (nothing before it can hold
    one), parsed alone; a URL may contain ``;``, so a URL requirement is parsed whole."""
    head, sep, marker_text = text.partition(";")
    if "@" in head:
        req = parse_requirement(text)
        return text, None if req is None else req.marker
    if not sep:
        return text, None
    marker = _marker(marker_text.strip())
    return (";" + marker_text.strip(), marker) if marker is not None else (None, None)


@lru_cache(maxsize=16384)
def _marker(text: str) -> Marker | None:
    """A marker's text parsed once, whichever requirement it follows: the same markers
    recur under many requirements (unsloth: 1,974 requirements, 492 marker texts)."""
    try:
        return Marker(text)
    except InvalidMarker:
        return None


class Provider(AbstractProvider):
    def __init__(
        self,
        finder: CandidateFinder,
        metadata: Callable[[Candidate], Metadata],
        target: Target,
        user_requirements: Sequence[Requirement],
        constraints: Mapping[str, SpecifierSet] | None = None,
        prerelease: Prerelease = DEFAULT,
        on_dependencies: Callable[[Candidate, list[Requirement]], None] | None = None,
        on_candidates: Callable[[str, list[Candidate]], None] | None = None,
        knowledge: Knowledge | None = None,
        preferred: Mapping[str, Version] | None = None,
        wheels_only: frozenset[str] = frozenset(),
        installed: Mapping[str, Version] | None = None,
        conflicts: ConflictTracker | None = None,
    ) -> None:
        # base environment versions: knowledge rules they already break are left alone
        self.installed = dict(installed or {})
        self.preexisting: set[str] = set()
        # projects (installed base packages) for which the solver may move only to versions
        # with a wheel: fixing an environment should not start building sdists
        self.wheels_only = wheels_only
        self.knowledge = knowledge
        self.preferred = dict(preferred or {})
        self._dependencies: dict[Any, list[Requirement]] = {}
        # the order learnt from earlier attempts of this solve (ftlock.resolve.backtracking)
        self.conflicts = conflicts if conflicts is not None else ConflictTracker()
        # transitive requirements on projects no index has: a conflict like any other,
        # named in the explanation when every alternative failed
        self.missing: dict[str, str] = {}
        self._agreement: dict[tuple[Requirement, Requirement], bool] = {}
        self._satisfied: dict[tuple[int, int], tuple[bool, Any, Any]] = {}
        self._prereleases: dict[tuple[str, tuple[str, ...]], bool] = {}  # Selection.key
        self.finder = finder
        self.metadata = metadata
        self.target = target
        self.constraints = dict(constraints or {})
        self.prerelease = prerelease
        self._on_dependencies = on_dependencies
        self._on_candidates = on_candidates
        self._user_order = {r.identifier: i for i, r in enumerate(user_requirements)}
        self._user_order.update({r.name: i for i, r in enumerate(user_requirements)})
        self._depth: dict[str, float] = {r.identifier: 1.0 for r in user_requirements}
        self._preferences: dict[str, tuple[list[Any], _PreferenceFacts]] = {}
        self.direct: dict[str, Candidate] = {}  # name -> candidate of a direct reference
        self.required_by: dict[str, str] = {}  # first asker of each name, for explanations
        # every (requirement, parent) seen per identifier, so an explanation can say who
        # asked for ``pkg[extra]`` instead of blaming the extra's own ``pkg==v`` pin
        self.asked: dict[str, dict[tuple[str, object], tuple[Requirement, Any]]] = {}
        for req in user_requirements:
            self.asked.setdefault(req.identifier, {})[(req.describe(), None)] = (req, None)

    # -- identification ----------------------------------------------------------------------
    def identify(self, requirement_or_candidate: Any) -> str:
        return requirement_or_candidate.identifier

    # -- ordering ----------------------------------------------------------------------------
    def narrow_requirement_selection(
        self,
        identifiers: Iterable[str],
        resolutions: Mapping[str, Any],
        candidates: Mapping[str, Iterator[Any]],
        information: Mapping[str, Iterator[Any]],
        backtrack_causes: Sequence[Any],
    ) -> Iterable[str]:
        """Requires-Python alone; else the unsatisfied packages of the last conflict (pip:
        the conflict cannot be solved while they wait); else packages that kept
        conflicting in earlier attempts (uv); else everything, for :meth:`get_preference`."""
        identifiers = list(identifiers)
        if PYTHON in identifiers:
            return [PYTHON]
        causes = {c.requirement.identifier for c in backtrack_causes} | {
            c.parent.identifier for c in backtrack_causes if c.parent is not None
        }
        narrowed = [i for i in identifiers if i in causes]
        if narrowed:
            return narrowed
        promoted = self.conflicts.promoted
        return [i for i in identifiers if i in promoted] or identifiers

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Any],
        candidates: Mapping[str, Iterator[Any]],
        information: Mapping[str, Iterable[Any]],
        backtrack_causes: Sequence[Any],
    ) -> Any:
        return self.preference(identifier, list(information[identifier]))

    def preference(self, identifier: str, infos: list[Any]) -> Any:
        """:meth:`get_preference` from the criterion's ``information`` list.

        resolvelib asks for every undecided package in every round; what follows from the
        list alone (the requirements' kinds, the parents) is kept with the list, which
        resolvelib replaces rather than changes.  The depth is worked out each time: it
        depends on the parents' depths, which fall as the solve finds shorter paths."""
        seen = self._preferences.get(identifier)
        if seen is not None and seen[0] is infos:
            facts = seen[1]
        else:
            reqs = [i.requirement for i in infos]
            facts = _PreferenceFacts(
                only_rules=all(getattr(r, "optional", False) for r in reqs),
                direct=any(getattr(r, "url", None) for r in reqs),
                pinned=any(getattr(r, "pins_exactly", False) for r in reqs),
                bounded=any(getattr(r, "upper_bounded", False) for r in reqs),
                from_root=any(i.parent is None for i in infos),
                parents=tuple(dict.fromkeys(i.parent.identifier for i in infos if i.parent is not None)),
            )
            self._preferences[identifier] = (infos, facts)
        if facts.from_root:
            depth = 1.0
        else:
            known = self._depth
            depth = min((known.get(parent, math.inf) for parent in facts.parents), default=math.inf) + 1
        self._depth[identifier] = min(self._depth.get(identifier, math.inf), depth)
        return (
            facts.only_rules,  # decided last, after every real requirement had its chance
            identifier in self.conflicts.demoted,  # after the packages they kept blocking
            not facts.direct,
            not facts.pinned,
            # before depth and the user's order: ``torch<2.2`` listed late must still be
            # decided before an unbounded sibling pins numpy 2 (issue 14, item 7)
            not facts.bounded,
            depth,
            self._user_order.get(identifier, math.inf),
            identifier,
        )

    # -- candidates --------------------------------------------------------------------------
    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Any]],
        incompatibilities: Mapping[str, Iterator[Any]],
    ) -> Any:
        reqs = list(requirements[identifier])
        if identifier == PYTHON:
            python = PythonCandidate(self.target.python.lowest)
            ok = all(self.target.admits_python(str(r.specifier)) for r in reqs)
            return [python] if ok else []
        name = reqs[0].name if reqs else canonicalize_name(identifier.split("[")[0])
        extras = reqs[0].extras if reqs else frozenset()
        bad = {c.key for c in incompatibilities[identifier]}
        if reqs and all(r.optional for r in reqs):
            absent = AbsentCandidate(name)
            return [] if absent.key in bad else [absent]
        urls = {r.url for r in reqs if r.url}
        if name in self.direct or urls:
            base = self.direct.get(name)
            if base is None or len(urls) > 1 or (urls and base.url not in urls):
                return []
            candidate = base.with_extras(extras)
            if candidate.key in bad or not all(self._accepts(r, candidate) for r in reqs):
                return []
            return [candidate]
        project = self._project_candidates(identifier, name)
        if project is None:
            return []
        selection = Selection.of(
            reqs,
            self.constraints.get(name, SpecifierSet()),
            incompatible=frozenset(bad),
            preferred=self.preferred.get(name),
            wheels_only=name in self.wheels_only,
        )
        memo_key = (name, selection.key)
        prereleases = self._prereleases.get(memo_key)
        if prereleases is None:
            prereleases = selection.admits_prereleases(self.prerelease, project)
            self._prereleases[memo_key] = prereleases

        def matches() -> Iterator[Candidate]:
            found = False
            for candidate in selection.candidates(project, prereleases):
                if not found and self._on_candidates is not None:
                    self._on_candidates(identifier, [candidate])
                found = True
                yield candidate

        # resolvelib takes a factory and iterates it lazily: versions the solver never
        # reaches are never checked against the target.
        return matches

    def _project_candidates(self, identifier: str, name: str) -> ProjectCandidates | None:
        """The project's candidates; None when no index has the project and something
        other than the user asked for it, so that the solver backtracks (pip and uv do).
        A top-level requirement on it can never be met: that error stands as it is."""
        try:
            return self.finder.candidates(name)
        except ProjectNotFound as exc:
            if identifier in self._user_order or name in self._user_order:
                raise
            self.missing[name] = str(exc)
            return None

    def culprits(self, criterion: Any, candidate: Any) -> set[str]:
        """The decided packages that got ``candidate`` rejected (see
        :func:`ftlock.resolve.backtracking.culprits`)."""
        return culprits(criterion, candidate, self._agree)

    def _agree(self, first: Requirement, second: Requirement) -> bool:
        """Whether a version of the project satisfies both requirements.  Every version
        on its page counts, installable on the target or not: in doubt, they agree and
        nobody is blamed."""
        key = (first, second)
        found = self._agreement.get(key)
        if found is None:
            versions: Sequence[Version]
            try:
                versions = self.finder.candidates(first.name).versions()
            except FtlockError:
                versions = ()
            found = not versions or any(
                first.accepts_version(v) and second.accepts_version(v) for v in versions
            )
            self._agreement[key] = found
        return found

    def _accepts(self, requirement: Requirement, candidate: Candidate) -> bool:
        if requirement.url:
            return requirement.url == candidate.url
        return requirement.accepts_version(candidate.version)

    def is_satisfied_by(self, requirement: Any, candidate: Any) -> bool:
        """Memoised, as in pip: resolvelib re-checks every pin against every requirement
        on it after each pin (100,000 calls for a 200-package solve).  Keyed by identity,
        which is cheap where hashing a candidate is not; the entry keeps both objects
        alive, so an id is never reused while it is a key."""
        key = (id(requirement), id(candidate))
        found = self._satisfied.get(key)
        if found is None:
            found = self._satisfied[key] = (self._satisfies(requirement, candidate), requirement, candidate)
        return found[0]

    def _satisfies(self, requirement: Any, candidate: Any) -> bool:
        if isinstance(candidate, PythonCandidate):
            return self.target.admits_python(str(requirement.specifier))
        if isinstance(candidate, AbsentCandidate):
            return requirement.optional
        if requirement.url:
            return requirement.url == candidate.url and (
                requirement.exclude is None or requirement.accepts_version(candidate.version)
            )
        return requirement.accepts_version(candidate.version)

    # -- dependencies ------------------------------------------------------------------------
    def _record(self, dep: Requirement, parent: Candidate) -> None:
        self.asked.setdefault(dep.identifier, {})[(dep.describe(), parent.key)] = (dep, parent)

    def _metadata(self, candidate: Candidate) -> Metadata:
        """Published metadata, or a knowledge rule's correction of it (no fetch needed
        when the rule supplies the whole Requires-Dist)."""
        rule = self.knowledge.metadata_rule(candidate.name, candidate.version) if self.knowledge else None
        if rule is not None and rule.requires_dist is not None:
            return Metadata(
                candidate.name, str(candidate.version), rule.requires_dist, rule.requires_python
            )
        metadata = self.metadata(candidate)
        if rule is not None and rule.requires_python is not None:
            metadata = replace(metadata, requires_python=rule.requires_python)
        return metadata

    def get_dependencies(self, candidate: Any) -> list[Requirement]:
        if isinstance(candidate, (PythonCandidate, AbsentCandidate)):
            return []
        # backtracking asks again for the same candidate: parse and evaluate markers once
        cached = self._dependencies.get(candidate.key)
        if cached is not None:
            return cached
        deps = self._compute_dependencies(candidate)
        self._dependencies[candidate.key] = deps
        return deps

    def _compute_dependencies(self, candidate: Candidate) -> list[Requirement]:
        metadata = self._metadata(candidate)
        if canonicalize_name(metadata.name) != candidate.name:
            raise MetadataError(
                f"{candidate.name} {candidate.version}: metadata names another project "
                f"({metadata.name} {metadata.version})"
            )
        deps: list[Requirement] = []
        if candidate.extras:
            pin = f"=={candidate.version}"
            deps.append(
                Requirement(
                    candidate.name,
                    SpecifierSet(pin) if not candidate.url else SpecifierSet(),
                    url=candidate.url,
                    text=f"{candidate.name}{pin}",
                )
            )
        elif metadata.requires_python and not self.target.admits_python(metadata.requires_python):
            deps.append(
                Requirement(
                    PYTHON,
                    SpecifierSet(metadata.requires_python),
                    text=f"Requires-Python {metadata.requires_python}",
                )
            )
        reqs = target_requirements(metadata, candidate.extras, self.target)
        if candidate.extras:
            # p[x] depends on everything p depends on too, as in pip: resolvelib's
            # backjumping looks only at a candidate's direct dependencies, so without them
            # a conflict under p (p[x] -> p -> q) never undoes p[x] and valid solutions
            # are missed (found by tests/test_properties.py).
            reqs = target_requirements(metadata, frozenset(), self.target) + reqs
        for dep in reqs:
            if dep.identifier == candidate.identifier:
                continue  # a package requiring itself (often via extras)
            deps.append(dep)
            self.required_by.setdefault(dep.name, candidate.name)
            self._record(dep, candidate)
        if self.knowledge is not None and not candidate.extras:
            self._add_rule_requirements(self.knowledge, candidate, reqs, deps)
        if self._on_dependencies is not None:
            self._on_dependencies(candidate, deps)
        return deps

    def _add_rule_requirements(
        self, knowledge: Knowledge, candidate: Candidate, reqs: list[Requirement], deps: list[Requirement]
    ) -> None:
        """The knowledge rules' requirements of ``candidate``, appended to ``deps``.  With a
        base, a pair already broken as installed is reported (``preexisting``) and kept
        rather than fought: the solve changes only what the request forces."""
        installed = self.installed.get(candidate.name) == candidate.version
        # class rules (ftlock.knowledge.classes) read the release's files and metadata
        release = ReleaseFacts.of(candidate.files, reqs) if knowledge.classes else None
        for spec in knowledge.requirements_for(candidate.name, candidate.version, release):
            other = canonicalize_name(spec.name)
            allow = None
            if installed and other in self.installed:
                other_version = self.installed[other]
                if spec.exclude is not None and spec.exclude.contains(other_version, prereleases=True):
                    allow = other_version  # broken before this solve: report, keep
                    self.preexisting.add(spec.rule.id)
                elif spec.exclude is None and not spec.specifier.contains(other_version, prereleases=True):
                    self.preexisting.add(spec.rule.id)
                    continue
            dep = Requirement(
                other,
                spec.specifier,
                exclude=spec.exclude,
                optional=spec.optional,
                rule=spec.rule,
                text=f"{spec.name}{spec.specifier}" if spec.exclude is None else "",
                allow=allow,
            )
            deps.append(dep)
            self._record(dep, candidate)
