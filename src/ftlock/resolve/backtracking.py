"""Backtracking that learns which packages to decide first, and that shows its progress.

resolvelib decides one package at a time.  When every version of a package fails, it
jumps back to the last decision that depends on any project in the conflict — often a
bystander.  In ``ftlock solve gemma``, kubernetes 37 needs ``python-dateutil>=3`` and every
google-cloud-bigquery needs ``<3``; kubernetes and then matplotlib (which also depends on
python-dateutil) were decided first, so each failure of bigquery moved matplotlib one
version down and walked ~90 bigquery versions again: 110,000 rejections, no answer in
minutes.

uv's remedy, adopted here: count the versions of a package rejected because of the
requirements of packages already decided (its *culprits*; a requirement that merely shares
the project, like matplotlib's ``python-dateutil>=2.7``, is a bystander).  After
:data:`THRESHOLD` such rejections the package is *promoted* (decided as soon as something
requires it), its culprits are *demoted* (decided after everything else), and the solve
starts over.  Pages, candidate lists, metadata and parsed dependencies are memoised for
the whole solve, so a restart re-pins from memory — a rejected version's metadata is
never fetched twice — and the new order decides bigquery before kubernetes, which then
steps down to a version that agrees.

A package keeps its place once promoted or demoted (no flip-flopping), every restart
changes the order, and there are at most :data:`MAX_RESTARTS`; after that resolvelib's
own backjumping carries on alone.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from resolvelib import BaseReporter
from resolvelib.resolvers.resolution import Resolution, _build_result

from ftlock.resolve.candidates import PYTHON, Requirement

log = logging.getLogger("ftlock.resolver")

#: rejections of one package, blamed on decided packages, before the order changes (uv: 5)
THRESHOLD = 5
#: restarts per solve; each one promotes or demotes at least one package
MAX_RESTARTS = 16


class Restart(Exception):
    """Raised from the reporter: start the solve over, the tracker has a better order."""


class ConflictTracker(msgspec.Struct):
    """What earlier attempts of this solve learnt about the order of decisions."""

    threshold: int = THRESHOLD
    max_restarts: int = MAX_RESTARTS
    promoted: set[str] = msgspec.field(default_factory=set)
    demoted: set[str] = msgspec.field(default_factory=set)
    restarts: int = 0
    rejections: Counter[str] = msgspec.field(default_factory=Counter)  # in the current attempt

    def record(self, affected: str, culprits: set[str]) -> bool:
        """Count one rejected version of ``affected``; True when the solve should restart.

        A package already demoted is expected to step down (that is why it was demoted),
        and an order that would change nothing is not worth a restart.
        """
        if not culprits or affected in self.demoted:
            return False
        self.rejections[affected] += 1
        if self.rejections[affected] < self.threshold or self.restarts >= self.max_restarts:
            return False
        newly_demoted = culprits - self.promoted - self.demoted - {affected}
        if affected in self.promoted and not newly_demoted:
            return False
        self.promoted.add(affected)
        self.demoted |= newly_demoted
        self.restarts += 1
        self.rejections.clear()
        return True


def culprits(
    criterion: Any, candidate: Any, agree: Callable[[Requirement, Requirement], bool]
) -> set[str]:
    """Identifiers of the decided packages that got ``candidate`` rejected.

    ``criterion`` is the project ``candidate`` could not add its requirement to; a decided
    package is a culprit when no version satisfies both its requirement and the
    candidate's (``agree`` answers that from the project's version list).  When no such
    pair exists — a conflict among three, or versions ruled out by earlier backtracking —
    nobody is blamed and resolvelib's backjumping handles it alone.
    """
    infos = list(criterion.information)
    own = [i.requirement for i in infos if i.parent is candidate]
    if not own or any(r.name == PYTHON or r.url for r in own):
        return set()
    blamed: set[str] = set()
    for info in infos:
        parent = info.parent
        if parent is None or parent is candidate or info.requirement.url:
            continue
        if any(not agree(mine, info.requirement) for mine in own):
            blamed.add(parent.identifier)
    return blamed


def _why(criterion: Any, blamed: set[str]) -> str:
    """``its requirement on botocore conflicts with boto3``, for the log."""
    project = next((i.requirement.name for i in criterion.information), "?")
    if project == PYTHON:
        return "its Requires-Python excludes the target"
    return f"its requirement on {project} conflicts with {', '.join(sorted(blamed)) or 'others'}"


def _shown(count: int) -> bool:
    """Log the 1st, 2nd, 5th, 10th, 20th, 50th, … rejection of a package, not every one."""
    while count >= 10 and count % 10 == 0:
        count //= 10
    return count in (1, 2, 5)


class BacktrackReporter(BaseReporter):
    """resolvelib's reporter: the progress line, the backtracking log and the restarts.

    ``progress(pinned, what)`` gets the number of pins so far (backtracking and restarts
    included, so it only grows) and what is being decided — while backtracking, the
    package and how many of its versions were tried.  The CLI shows it only on a
    terminal; ``-v`` logs the same on stderr.  Nothing here reaches the lock.
    """

    def __init__(
        self,
        tracker: ConflictTracker,
        blame: Callable[[Any, Any], set[str]],
        progress: Callable[[int, str], None] | None = None,
        on_rejected: Callable[[Any], None] | None = None,
    ) -> None:
        self.tracker = tracker
        self.blame = blame
        self.progress = progress
        self.on_rejected = on_rejected
        self.pinned = 0
        self.tried: Counter[str] = Counter()  # versions rejected per project, whole solve

    def pinning(self, candidate: Any) -> None:
        self.pinned += 1
        if self.progress is not None:
            self.progress(self.pinned, getattr(candidate, "identifier", "python"))

    def rejecting_candidate(self, criterion: Any, candidate: Any) -> None:
        name = getattr(candidate, "name", None)
        if name is None:
            return
        self.tried[name] += 1
        tried = self.tried[name]
        versions = f"{tried} version{'' if tried == 1 else 's'}"
        if self.progress is not None:
            self.progress(self.pinned, f"{name} (backtracking: {versions} tried)")
        if self.on_rejected is not None:
            self.on_rejected(candidate)
        blamed = self.blame(criterion, candidate)
        if _shown(tried):
            log.info("backtracking: %s %s rejected, %s; %s of %s tried",
                     candidate.identifier, candidate.version, _why(criterion, blamed), versions, name)
        if self.tracker.record(candidate.identifier, blamed):
            log.info("backtracking: %s keeps conflicting with %s; deciding it first and starting over",
                     candidate.identifier, ", ".join(sorted(blamed)))
            raise Restart(candidate.identifier)


class _Resolution(Resolution):
    """resolvelib's resolution with its two per-round scans made cheap, same answers.

    Every round resolvelib checks each decided package's pin against every requirement
    on it (twice), and asks the provider for the preference of every undecided one:
    quadratic in the packages of a solve, about 50,000 pin checks and 9,000 preferences
    for a 190-package lock, 15% of its CPU.  A pin check depends only on the criterion
    and the pin, both immutable objects that resolvelib replaces when they change, so its
    answer is kept per identifier until either is replaced.  Preferences go to the
    provider with the criterion's information list itself (:meth:`Provider.preference`),
    so the provider can keep what does not change with it."""

    def __init__(self, provider: Any, reporter: Any) -> None:
        super().__init__(provider, reporter)
        self._pin_checks: dict[Any, tuple[Any, Any, bool]] = {}
        self._preference = getattr(provider, "preference", None)

    def _is_current_pin_satisfying(self, name: Any, criterion: Any) -> bool:
        pin = self.state.mapping.get(name)
        if pin is None:
            return False
        seen = self._pin_checks.get(name)
        if seen is not None and seen[0] is criterion and seen[1] is pin:
            return seen[2]
        satisfied = all(
            self._p.is_satisfied_by(requirement=r, candidate=pin) for r in criterion.iter_requirement()
        )
        self._pin_checks[name] = (criterion, pin, satisfied)  # holds both: ids never reused
        return satisfied

    def _get_preference(self, name: Any) -> Any:
        if self._preference is None:
            return super()._get_preference(name)
        return self._preference(name, self.state.criteria[name].information)


def resolve(
    provider: Any, reporter: BacktrackReporter, requirements: Sequence[Any], max_rounds: int
) -> Any:
    """resolvelib's answer for ``requirements``, starting over whenever the reporter asks.

    ``Resolver.resolve`` with :class:`_Resolution` in place of resolvelib's own."""
    while True:
        try:
            state = _Resolution(provider, reporter).resolve(requirements, max_rounds=max_rounds)
            return _build_result(state)
        except Restart:
            continue
