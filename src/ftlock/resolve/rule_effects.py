"""Which knowledge rules shaped which pins — also the ones that only made the solver
backtrack.

A rule's requirement that narrows a package's own versions is named next to that package by
the engine (``_rule_notes``).  A rule can also act at a distance: ``bitsandbytes 0.45.0 ×
triton>=3.2`` never mentions torch, yet it holds torch at 2.5.1, because torch 2.6 pins
triton 3.2.  Nothing in the final criteria says so.  Two steps find it:

1. :class:`RuleRecorder` watches the solve: each time a candidate is rejected, the rules
   whose requirement disagreed with it (the same test that blames culprits,
   :func:`ftlock.resolve.backtracking.culprits`) are counted;
2. :func:`counterfactuals` runs, for each such rule, the same solve without it, and
   :func:`notes` names the rule next to every pin it moved (not next to the pins that
   merely follow a moved package), with the version the pin would have had.

The counterfactual solves reuse the session's pages and metadata, so they cost solver time
only, and only for solves in which a rule actually caused backtracking.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ftlock.resolve.facts import RuleMoved
from ftlock.resolve.result import LockedPackage

#: counterfactual solves per solve at most (the rules that caused the most rejections)
LIMIT = 4


@dataclass
class RuleRecorder:
    """Counts, per rule, the rejections its requirement took part in."""

    counts: Counter[str] = field(default_factory=Counter)
    rules: dict[str, Any] = field(default_factory=dict)

    def wrap(self, blame: Callable[[Any, Any], set[str]]) -> Callable[[Any, Any], set[str]]:
        """``blame`` (the provider's culprit finder) that also records the rules involved."""

        def blame_and_record(criterion: Any, candidate: Any) -> set[str]:
            blamed = blame(criterion, candidate)
            self.record(criterion, candidate, blamed)
            return blamed

        return blame_and_record

    def record(self, criterion: Any, candidate: Any, blamed: set[str]) -> None:
        """A rule took part when its requirement came from a blamed package, or from the
        rejected candidate itself while something else was blamed."""
        if not blamed:
            return
        for info in criterion.information:
            rule = getattr(info.requirement, "rule", None)
            parent = info.parent
            if rule is None or parent is None:
                continue
            if parent is candidate or getattr(parent, "identifier", None) in blamed:
                self.counts[rule.id] += 1
                self.rules[rule.id] = rule

    def most_involved(self, limit: int = LIMIT) -> list[Any]:
        return [self.rules[rule_id] for rule_id, _ in self.counts.most_common(limit)]


def counterfactuals(
    rules: list[Any], resolve_without: Callable[[str], Mapping[str, str] | None]
) -> list[tuple[Any, Mapping[str, str]]]:
    """``(rule, pins of the same solve without it)`` for each rule; a rule whose
    counterfactual could not be run (None) is left out rather than named on a guess."""
    out = []
    for rule in rules:
        other = resolve_without(rule.id)
        if other is not None:
            out.append((rule, other))
    return out


def notes(
    alternatives: list[tuple[Any, Mapping[str, str]]], packages: Sequence[LockedPackage]
) -> dict[str, list[RuleMoved]]:
    """``package -> notes`` for the pins each rule moved.

    A pin that differs only because a package requiring it differs (torch's nvidia-* and
    sympy pins follow torch) is not annotated: the rule is named where it acted — on the
    packages it names, on the user's own requirements (torch, torchvision) and on pins
    whose requirers did not move.
    """
    pinned = {p.name: p for p in packages}
    out: dict[str, list[RuleMoved]] = {}
    for rule, other in alternatives:
        moved = {name for name, p in pinned.items() if other.get(name) != p.version}
        for name in sorted(moved):
            package = pinned[name]
            requested = any(parent not in pinned for parent in package.required_by)  # an input
            follows = any(parent in moved for parent in package.required_by)
            if name not in rule.packages and not requested and follows:
                continue
            out.setdefault(name, []).append(
                RuleMoved(name, other.get(name), package.version, rule.summary, rule.id, rule.source)
            )
    return out
