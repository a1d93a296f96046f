"""One solve, end to end: inputs → target → indexes → resolvelib → :class:`Resolution`.

Speed comes from speculation, since resolvelib asks one question at a time.  When the
solver learns a candidate's dependencies, the :class:`~ftlock.resolve.prefetch.Prefetcher` starts fetching each
dependency's page in a bounded thread pool, picks the version the solver will most likely
try first, fetches its metadata and recurses into *its* dependencies.  By the time the
solver asks, the answer is usually already in memory, so a cold solve costs roughly the
depth of the dependency graph in round trips rather than the number of requests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from ftlock._values import replace
from ftlock.errors import FtlockError, NoSolution, ProjectNotFound, UsageError
from ftlock.resolve.base import BaseEnvironment
from ftlock.resolve.collapse import collapse
from ftlock.resolve.facts import (
    BaseAddition,
    BaseChange,
    BaseSummary,
    ChangeReason,
    IndexWarning,
    KeptConsistent,
    PinnedPair,
    PreexistingBreak,
    RequiredBy,
    RuleRequired,
    RulesOff,
    RuleShaped,
    WarnRuleBroken,
    YouRequested,
)
from ftlock.resolve.result import LockedPackage, Resolution, SolveRequest, SolveStats
from ftlock.resolve.candidates import (
    PYTHON,
    AbsentCandidate,
    Candidate,
    CandidateFinder,
    Requirement,
)
from ftlock.resolve import gpu_setup
from ftlock.resolve import backtracking, newest
from ftlock.resolve import rule_effects
from ftlock.resolve import source_builds
from ftlock.resolve.explain import explain_conflict
from ftlock.index.hashing import hash_missing
from ftlock.index.client import IndexClient
from ftlock.index.settings import IndexSettings
from ftlock.resolve.prereleases import policy_for
from ftlock.resolve.prefetch import MetadataService, Prefetcher
from ftlock.resolve.provider import Prerelease, Provider, parse_requirement
from ftlock.resolve.reqfile import ParsedInputs
from ftlock.resolve.session import Session, Started, start
from ftlock.resolve.target import Target

if TYPE_CHECKING:  # pragma: no cover
    from ftlock.knowledge.engine import Knowledge


log = logging.getLogger("ftlock.resolver")


def _moved_up(result, provider, reporter, requirements):
    """``result`` with every package that can move to a newer version alone moved up
    (:mod:`ftlock.resolve.newest`), re-solved with all pins preferred so the graph is
    the solver's; the first answer stands if that re-solve does not agree."""
    moved = newest.upgrades(result.mapping, provider, requirements)
    if not moved:
        return result
    for identifier, candidate in sorted(moved.items()):
        log.info("newest: %s %s fits the solution too; moving up from %s",
                 identifier, candidate.version, result.mapping[identifier].version)
    provider.preferred.update(newest.preferred_after(result.mapping, moved))
    try:
        again = backtracking.resolve(provider, reporter, requirements, max_rounds=200_000)
    except (ResolutionImpossible, ResolutionTooDeep):  # pragma: no cover - a valid set exists
        return result
    return again


def _versions_of(finder: CandidateFinder, name: str) -> list[str]:
    """The project's versions for the target, for an explanation; none when no index has it."""
    try:
        return [str(c.version) for c in finder.candidates(name)]
    except ProjectNotFound:
        return []


def _base_summary(base: BaseEnvironment | None, request: SolveRequest) -> BaseSummary | None:
    if base is None:
        return None
    freeze = request.base.name if request.base is not None else None
    return BaseSummary(freeze, len(base.packages), request.output_full, request.keep_base)


def describe_changes(base, packages, result, metadata, finder) -> list[BaseAddition | BaseChange]:
    """Each base package that changes (with the requirements that forced it) and each new
    package: ``fsspec 2025.3.2 -> 2025.3.0`` because ``datasets 3.6.0 requires ...``."""
    lines: list[BaseAddition | BaseChange] = []
    final = {p.name: p for p in packages if p.name not in base.external}
    for name, package in sorted(final.items()):
        installed = base.packages.get(name)
        if installed is None or installed.version is None:
            newer = None
            if "requested" in package.required_by and not package.url:
                newest = next(iter(finder.candidates(name)), None)
                if newest is not None and str(newest.version) != package.version:
                    newer = str(newest.version)
            lines.append(BaseAddition(name, package.version, package.required_by, newer))
            continue
        old = installed.parsed_version
        if old is None or Version(package.version) == old:
            continue
        reasons: list[ChangeReason] = []
        infos = [
            info
            for identifier, criterion in result.criteria.items()
            if identifier.split("[")[0] == name
            for info in criterion.information
        ]
        for info in infos:
            req = info.requirement
            if info.parent is not None and info.parent.name == name:
                continue  # an extra's pin to its own base version
            if req.url or req.accepts_version(old):
                continue
            reasons.append(_reason(info))
        if not reasons:
            reasons += _own_conflicts(name, old, final, metadata, finder)
        lines.append(BaseChange(name, installed.version, package.version, tuple(reasons)))
    return lines


def _reason(info) -> ChangeReason:
    """``datasets 3.6.0 requires fsspec<=2025.3.0`` / ``… forbids … by rule X``."""
    req = info.requirement
    if info.parent is None:
        return YouRequested(req.text or req.describe())
    who = (info.parent.name, str(info.parent.version))
    if req.rule is not None:
        excluded = req.exclude is not None
        return RuleRequired(*who, req.name, str(req.exclude if excluded else req.specifier), excluded, req.rule.id)
    return RequiredBy(*who, req.name, tuple(sorted(req.extras)), str(req.specifier))


def _own_conflicts(name, old, final, metadata, finder) -> list[KeptConsistent]:
    """Why an installed version had to go although nothing excludes it: its own
    requirements disagree with the new set."""
    try:
        candidate = finder.candidates(name).get(old)
        meta = metadata(candidate) if candidate is not None else None
    except FtlockError:
        meta = None
    if meta is None:
        return []
    out = []
    for text in meta.requires_dist:
        dep = parse_requirement(text)
        if dep is None or (dep.marker is not None and not dep.marker.evaluate({**finder.target.markers, "extra": ""})):
            continue
        pinned = final.get(canonicalize_name(dep.name))
        if pinned is not None and not dep.specifier.contains(pinned.version, prereleases=True):
            out.append(KeptConsistent(name, str(old), f"{dep.name}{dep.specifier}", pinned.name, pinned.version))
    return out


def _preferred(pairs: tuple[tuple[str, str], ...]) -> dict[str, Version]:
    out: dict[str, Version] = {}
    for name, version in pairs:
        try:
            out[canonicalize_name(name)] = Version(version)
        except InvalidVersion:
            continue
    return out


def _knowledge(request: SolveRequest, stack: gpu_setup.Stack) -> Knowledge:
    from ftlock.knowledge.engine import Knowledge

    return Knowledge.for_target(
        request.rules, request.features + stack.features, request.gpu, stack.cuda,
        ignored=request.ignore_rules, enabled=not request.no_knowledge,
    )


def _with_direct_references(
    requirements: list[Requirement], base: BaseEnvironment | None, session: Session
) -> tuple[list[Requirement], dict[str, Candidate]]:
    """The user's requirements with each URL or path resolved to its one candidate (named),
    and those candidates — plus the base packages kept as installed — for the provider."""
    direct_candidates: dict[str, Candidate] = {}
    if base is not None:
        for name in base.packages:
            session.index.prefetch(name)
        base.classify(session.finder)
        session.direct.metadata.update(base.external_metadata)
        direct_candidates.update(base.external)
    user_requirements = []
    for req in requirements:
        if req.url:
            expected = None if req.name == "<direct>" else req.name
            candidate = session.direct.resolve(req.url, expected)
            if direct_candidates.setdefault(candidate.name, candidate) != candidate:
                raise UsageError(f"{candidate.name} is requested from two different URLs")
            req = Requirement(
                candidate.name, req.specifier, req.extras, candidate.url, req.text
            )
        user_requirements.append(req)
    return user_requirements, direct_candidates


def _active_knowledge(
    request: SolveRequest,
    stack: gpu_setup.Stack,
    user_requirements: list[Requirement],
    constraints: dict[str, SpecifierSet],
) -> tuple[Knowledge, list[Any]]:
    """The rules for this solve, and the known-bad pairs the user pinned exactly on both
    sides: locked as asked (a warning and a header line), or refused with --strict-rules
    (:mod:`ftlock.knowledge.pinned`)."""
    # loaded while the first pages are in flight: the rules and pydantic cost ~0.1 s
    knowledge = _knowledge(request, stack)
    from ftlock.knowledge import pinned as pinned_rules  # noqa: PLC0415 - with the rules

    user_pins = pinned_rules.exact_pins(_input_specifiers(user_requirements, constraints))
    pinned_breaks = pinned_rules.broken_by_pins(knowledge, user_pins)
    if pinned_breaks and request.strict_rules:
        raise pinned_breaks[0].error()
    knowledge = knowledge.without(b.rule_id for b in pinned_breaks)
    if not request.strict_rules:
        knowledge.exempt_user_pins(user_pins)  # class rules: found during the solve
    return knowledge, pinned_breaks


class _ProviderFactory(msgspec.Struct):
    """Everything a :class:`Provider` needs but the rules, the root requirements and the
    conflict memory: the solve itself and each counterfactual solve (a rule left out) make
    theirs the same way."""

    finder: CandidateFinder
    metadata: MetadataService
    target: Target
    constraints: dict[str, SpecifierSet]
    prerelease: Prerelease
    prefetcher: Prefetcher
    preferred: dict[str, Version]
    base: BaseEnvironment | None
    direct_candidates: dict[str, Candidate]

    def __call__(
        self, rules: Knowledge, reqs: list[Requirement], tracker: backtracking.ConflictTracker
    ) -> Provider:
        base = self.base
        made = Provider(
            self.finder,
            # a freeze without --all: requirements on pip/setuptools/wheel go unchecked
            base.without_unknown(self.metadata) if base is not None else self.metadata,
            self.target,
            reqs,
            constraints=self.constraints,
            prerelease=self.prerelease,
            on_dependencies=self.prefetcher.dependencies_found,
            on_candidates=self.prefetcher.candidates_found,
            knowledge=rules,
            preferred=self.preferred,
            wheels_only=frozenset(base.packages) if base is not None else frozenset(),
            installed=base.installed_versions() if base is not None else None,
            conflicts=tracker,
        )
        made.direct.update(self.direct_candidates)
        return made


class _Solved(msgspec.Struct):
    result: Any  # resolvelib's Result
    provider: Provider  # the one that found it
    requirements: list[Requirement]  # the roots it was found for
    base_requirements: list[Requirement]  # the installed packages among them


def _run_solver(
    make_provider: _ProviderFactory,
    knowledge: Knowledge,
    solver_requirements: list[Requirement],
    conflicts: backtracking.ConflictTracker,
    recorder: rule_effects.RuleRecorder,
    on_progress: Callable[[int, str], None] | None,
    unlocked: set[str],
) -> _Solved:
    """Run resolvelib.  With a base, installed packages start pinned to their versions and
    only the ones a conflict names are released (then merely preferred) — the fewest
    changes, and no search through hundreds of installed packages' histories."""
    base = make_provider.base
    while True:
        base_reqs = base.requirements(unlocked) if base is not None else []
        resolved_requirements = solver_requirements + base_reqs
        provider = make_provider(knowledge, resolved_requirements, conflicts)
        reporter = backtracking.BacktrackReporter(
            conflicts, recorder.wrap(provider.culprits), on_progress, make_provider.prefetcher.rejected
        )
        try:
            result = backtracking.resolve(
                provider, reporter, resolved_requirements, max_rounds=200_000
            )
            if base is None:  # with a base, the fewest changes matter more
                result = _moved_up(result, provider, reporter, resolved_requirements)
            return _Solved(result, provider, resolved_requirements, base_reqs)
        except ResolutionImpossible as exc:
            released = base.release(exc.causes, unlocked) if base is not None else set()
            if released:
                unlocked |= released
                continue
            raise _no_solution(exc, resolved_requirements, provider, make_provider) from None
        except ResolutionTooDeep:
            raise NoSolution(
                "the solver gave up after 200,000 rounds of backtracking; add tighter "
                "requirements (e.g. pin the package that changes most) and try again"
            ) from None


def _no_solution(
    exc: ResolutionImpossible, requirements: list[Requirement], provider: Provider, made: _ProviderFactory
) -> NoSolution:
    return NoSolution(
        explain_conflict(
            exc.causes,
            requirements,
            made.target,
            provider.required_by,
            lambda name: _versions_of(made.finder, name),
            provider.asked,
            made.constraints,
            made.prerelease,
            made.finder.policy_note,
            missing=provider.missing,
        )
    )


def _rule_alternatives(
    make_provider: _ProviderFactory,
    knowledge: Knowledge,
    solved: _Solved,
    conflicts: backtracking.ConflictTracker,
    recorder: rule_effects.RuleRecorder,
) -> Any:
    """What the rules that made the solver backtrack changed: the solve again without each
    (:mod:`ftlock.resolve.rule_effects`)."""

    def without_rule(rule_id: str) -> dict[str, str] | None:
        tracker = backtracking.ConflictTracker(
            promoted=set(conflicts.promoted), demoted=set(conflicts.demoted)
        )
        return _counterfactual(
            make_provider(knowledge.without([rule_id]), solved.requirements, tracker),
            solved.requirements,
            move_up=make_provider.base is None,  # the same steps as the solve itself
        )

    return rule_effects.counterfactuals(recorder.most_involved(), without_rule)


def solve_prepared(
    request: SolveRequest,
    target: Target,
    inputs: ParsedInputs,
    stack: gpu_setup.Stack | None,
    settings: IndexSettings,
    on_progress: Callable[[int, str], None] | None = None,
    begun: Started | None = None,
) -> tuple[Resolution, IndexClient]:
    """Run the solver on prepared inputs (see :func:`ftlock.resolve.solve.solve`): the
    answer and the index client (its ``read`` names every page the solve used).  ``stack``:
    what GPU/model flags prepared; ``begun``: the front door's started session (else
    opened here), closed when this returns or raises."""
    begun = begun or start(request, target, inputs, settings)
    session, prefetcher, base, constraints = begun.session, begun.prefetcher, begun.base, begun.constraints
    stack = stack or gpu_setup.Stack()
    try:
        prerelease: Prerelease = policy_for(request.prerelease, inputs.pre)
        user_requirements, direct_candidates = _with_direct_references(begun.requirements, base, session)
        for req in user_requirements:
            prefetcher.requirement(req, needed=True)
        knowledge, pinned_breaks = _active_knowledge(request, stack, user_requirements, constraints)
        preferred = _preferred(request.preferred + (base.preferred() if base else ()))
        make_provider = _ProviderFactory(
            session.finder, session.metadata, target, constraints, prerelease, prefetcher,
            preferred, base, direct_candidates,
        )
        # what repeated conflicts taught about the order of decisions outlives each
        # attempt (ftlock.resolve.backtracking); the rule recorder: ftlock.resolve.rule_effects
        conflicts = backtracking.ConflictTracker()
        recorder = rule_effects.RuleRecorder()
        # many lines on one project are one requirement to the solver (ftlock.resolve.collapse)
        solved = _run_solver(
            make_provider, knowledge, collapse(user_requirements), conflicts, recorder, on_progress,
            unlocked={r.name for r in user_requirements},
        )
        alternatives = _rule_alternatives(make_provider, knowledge, solved, conflicts, recorder)
        # files the index gave no (valid) sha256 for are downloaded and hashed, so that
        # every lock line carries --hash (see ftlock.index.hashing)
        hashed, hash_warnings = hash_missing(
            (f for c in solved.result.mapping.values() if isinstance(c, Candidate) for f in c.files),
            session.http,
            session.pool.submit,
            offline=request.offline,
        )
    finally:
        prefetcher.stopped = True
        session.close()
    # every input line, not the collapsed ones: each line's origin is a `# via` entry
    origins = begun.origins + ["installed"] * len(solved.base_requirements)
    packages = _locked_packages(
        solved.result, origins, user_requirements + solved.base_requirements, session.finder, hashed
    )
    packages = _with_effects(packages, rule_effects.notes(alternatives, packages))
    return _assemble(
        request, target, stack, session, base, knowledge, solved, packages,
        pinned_breaks, hash_warnings, begun.at,
    ), session.index


def _assemble(
    request: SolveRequest,
    target: Target,
    stack: gpu_setup.Stack,
    session: Session,
    base: BaseEnvironment | None,
    knowledge: Knowledge,
    solved: _Solved,
    packages: tuple[LockedPackage, ...],
    pinned_breaks: list[Any],
    hash_warnings: list[str],
    started: float,
) -> Resolution:
    """The :class:`Resolution`: the locked packages with their notes, the warnings, and
    the header's facts."""
    from ftlock.knowledge import pinned as pinned_rules  # noqa: PLC0415 - with the rules

    pinned_breaks += [
        pinned_rules.PinnedBreak(v) for v in getattr(knowledge, "pinned_class_breaks", {}).values()
    ]
    pairs = [_pinned_pair(b.violation) for b in pinned_breaks]
    # sdist-only pins that compile CUDA at install time: said next to the pin and on stderr
    packages, build_warnings = source_builds.annotate(packages)
    pinned: dict[str, str] = {p.name: p.version for p in packages}
    warnings: list[Any] = [IndexWarning(w) for w in hash_warnings]
    warnings += build_warnings + pairs + [PreexistingBreak(r) for r in sorted(solved.provider.preexisting)]
    if base is not None:
        warnings += base.unchecked_warnings(pinned, target.markers)
    packages = _with_warn_notes(packages, knowledge, pinned, warnings)
    gpu_stack, stack_warnings = stack.finish(packages)
    changes = describe_changes(base, packages, solved.result, session.metadata, session.finder) if base is not None else []
    packages = _without_unchanged(packages, base, request)
    settings, http = session.settings, session.http
    rules_off = knowledge.rules_off(pinned)
    return Resolution(
        packages=packages,
        target=target,
        indexes=stack.indexes(settings.urls, settings.all_urls, packages),
        default_index=settings.default_url,
        exclude_newer=request.exclude_newer,
        stats=SolveStats(time.perf_counter() - started, http.requests, http.bytes),
        binary=session.finder.formats.describe(),
        stack=gpu_stack,
        features=tuple(dict.fromkeys(request.features + stack.features)),
        rules_off=RulesOff(*rules_off) if rules_off is not None else None,
        pinned_breaks=tuple(pairs),
        base=_base_summary(base, request),
        warnings=tuple(warnings) + tuple(stack_warnings),
        changes=tuple(changes),
        kept=tuple(base.kept[n] for n in sorted(base.external)) if base is not None and request.output_full else (),
    )


def _pinned_pair(violation: Any) -> PinnedPair:
    r = violation.rule
    return PinnedPair(tuple(violation.packages), r.id, r.summary, r.symptom, r.fix, r.source)


def _with_warn_notes(
    packages: tuple[LockedPackage, ...], knowledge: Knowledge, pinned: dict[str, str], warnings: list[Any]
) -> tuple[LockedPackage, ...]:
    """Warn-severity rules the lock breaks: a warning each (appended to ``warnings``) and a
    note next to every pin involved."""
    warn_notes: dict[str, list[WarnRuleBroken]] = {}
    for violation in knowledge.violations(pinned, severities=("warn",)):
        r = violation.rule
        fact = WarnRuleBroken(
            tuple(violation.packages), violation.message, r.id, r.severity, r.summary, r.symptom, r.fix, r.source
        )
        warnings.append(fact)
        for involved in violation.packages:
            warn_notes.setdefault(involved.split(" ")[0], []).append(fact)
    if warn_notes:
        packages = tuple(
            replace(p, notes=p.notes + tuple(warn_notes.get(p.name, ()))) for p in packages
        )
    return packages


def _without_unchanged(
    packages: tuple[LockedPackage, ...], base: BaseEnvironment | None, request: SolveRequest
) -> tuple[LockedPackage, ...]:
    """With a base: only what to install or change (all of it with --output-full), never
    the packages kept as installed."""
    if base is None:
        return packages
    packages = tuple(p for p in packages if p.name not in base.external)
    if not request.output_full:
        packages = tuple(
            p for p in packages
            if p.name not in base.packages or base.packages[p.name].version is None
            or Version(p.version) != base.packages[p.name].parsed_version
        )
    return packages


def _input_specifiers(
    requirements: list[Requirement], constraints: dict[str, SpecifierSet]
) -> dict[str, SpecifierSet]:
    """The user's own version specifiers per project: requirements and constraints."""
    out = {name: SpecifierSet(str(spec)) for name, spec in constraints.items()}
    for req in requirements:
        if not req.url and req.name != "<direct>":
            out[req.name] = out.get(req.name, SpecifierSet()) & req.specifier
    return out


def _pins_of(mapping) -> dict[str, str]:
    return {
        c.name: str(c.version) for c in mapping.values() if isinstance(c, Candidate) and not c.extras
    }


def _counterfactual(
    provider: Provider, requirements: list[Requirement], move_up: bool
) -> dict[str, str] | None:
    """The pins of the same solve run by ``provider`` (None when it cannot finish)."""
    reporter = backtracking.BacktrackReporter(provider.conflicts, provider.culprits)
    try:
        result = backtracking.resolve(provider, reporter, requirements, max_rounds=50_000)
        if move_up:
            result = _moved_up(result, provider, reporter, requirements)
    except (ResolutionImpossible, ResolutionTooDeep, FtlockError):
        return None
    return _pins_of(result.mapping)


def _with_effects(packages: tuple[LockedPackage, ...], effects: dict[str, list[Any]]) -> tuple[LockedPackage, ...]:
    """Rules that shaped a pin from a distance, named next to it (once per rule: not when
    the rule's own requirement on it is named already)."""
    if not effects:
        return packages
    out = []
    for package in packages:
        named = {getattr(note, "rule_id", None) for note in package.notes}
        extra = [note for note in effects.get(package.name, ()) if note.rule_id not in named]
        out.append(replace(package, notes=package.notes + tuple(extra)) if extra else package)
    return tuple(out)


def _rule_notes(result, identifier: str, candidate: Candidate, finder: CandidateFinder) -> list[RuleShaped]:
    """Rules that changed this pin: without the rule's requirement, a different (newer)
    version would have satisfied everything else, or the package would not be here."""
    criterion = result.criteria.get(identifier)
    if criterion is None:
        return []
    infos = [i for i in criterion.information if i.parent is None or not isinstance(i.parent, AbsentCandidate)]
    others = [i.requirement for i in infos if i.requirement.rule is None]
    notes = []
    for info in infos:
        req = info.requirement
        if req.rule is None or info.parent is None:
            continue
        changed = False
        if not others:
            changed = True  # only the rule asks for this package
        elif candidate.url:
            changed = False  # a direct reference / kept base package: nothing else to pick
        else:
            for cand in finder.candidates(candidate.name):
                if cand.version <= candidate.version:
                    break
                if not cand.yanked and all(o.accepts_version(cand.version) for o in others):
                    changed = not req.accepts_version(cand.version)
                    break
        if changed:
            excluded = req.exclude is not None
            notes.append(RuleShaped(
                req.name, str(req.exclude if excluded else req.specifier), excluded, req.optional,
                info.parent.name, str(info.parent.version), req.rule.id, req.rule.source,
            ))
    return sorted(set(notes))


def _locked_packages(
    result, input_origins: list[str], requirements: list[Requirement], finder: CandidateFinder,
    hashed: dict[str, str],
) -> tuple[LockedPackage, ...]:
    origins: dict[str, list[str]] = {}
    for origin, req in zip(input_origins, requirements, strict=True):
        origins.setdefault(req.name, []).append(origin)
    # "# via" lists the packages whose own metadata asks for this one; a conflict rule's
    # "if installed" exclusion is not a reason to install anything, so it is not an edge
    parents: dict[str, set[str]] = {}
    for identifier in result.mapping:
        criterion = result.criteria.get(identifier)
        for info in criterion.information if criterion is not None else ():
            parent = info.parent
            if parent is None or isinstance(parent, AbsentCandidate) or info.requirement.optional:
                continue
            child = identifier.split("[")[0]
            parent_name = parent.identifier.split("[")[0]
            if parent_name != child and parent_name != PYTHON:
                parents.setdefault(child, set()).add(parent_name)
    packages = []
    for identifier, candidate in result.mapping.items():
        if identifier == PYTHON or getattr(candidate, "extras", None):
            continue
        if isinstance(candidate, AbsentCandidate):
            continue
        via = sorted(parents.get(candidate.name, set()))
        via += sorted(set(origins.get(candidate.name, [])))
        packages.append(
            LockedPackage(
                name=candidate.name,
                version=str(candidate.version),
                files=tuple(
                    replace(f, sha256=hashed[f.url]) if f.sha256 is None and f.url in hashed else f
                    for f in candidate.files
                ),
                index_url=candidate.index_url,
                url=candidate.url,
                required_by=tuple(via),
                yanked=candidate.yanked,
                notes=tuple(_rule_notes(result, identifier, candidate, finder)),
            )
        )
    packages.sort(key=lambda p: p.name)
    return tuple(packages)
