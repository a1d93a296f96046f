"""Known-bad pairs the user pinned on purpose.

A rule steers every choice the solver makes.  When the user's own input pins *every*
package of a rule exactly (``unsloth==2024.7`` and ``peft==0.12.0``), there is no choice to
steer: refusing would only make them edit the rules away.  Such a pair is locked as asked,
and the rule becomes a warning on stderr and a line in the lock header (the solve records it
as a :class:`~ftlock.resolve.facts.PinnedPair`); ``--strict-rules`` (``strict-rules = true``
in ``[tool.ftlock]``) makes it an error, for CI.  A rule with one
side left open (``peft==0.12.0`` and ``unsloth<2024.8``) still steers that side.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from ftlock.errors import NoSolution
from ftlock.knowledge.engine import Knowledge, Violation


class PinnedBreak(msgspec.Struct, frozen=True):
    """One rule broken by the user's own exact pins."""

    violation: Violation

    @property
    def rule_id(self) -> str:
        return self.violation.rule.id

    @property
    def pins(self) -> str:
        return " and ".join(p.replace(" ", "==", 1) for p in self.violation.packages)

    def error(self) -> NoSolution:
        r = self.violation.rule
        return NoSolution(
            f"your own pins {self.pins} break knowledge rule {r.id} ({r.summary}; fix: "
            f"{r.fix}; source: {r.source}); --strict-rules refuses them (without it they are "
            "locked with a warning)"
        )


def exact_pins(specifiers: Mapping[str, SpecifierSet]) -> dict[str, Version]:
    """``name -> version`` of the specifier sets that pin one exact version (``==1.0``)."""
    out: dict[str, Version] = {}
    for name, spec in specifiers.items():
        for item in spec:
            if item.operator in ("==", "===") and "*" not in item.version:
                try:
                    out[name] = Version(item.version)
                except InvalidVersion:
                    continue
    return out


def broken_by_pins(knowledge: Knowledge, pins: Mapping[str, Version]) -> list[PinnedBreak]:
    """Enforced rules that the exact ``pins`` alone break: every package the rule names
    is pinned (a ``requires`` rule whose other package is left open is not one)."""
    found = []
    for violation in knowledge.violations(pins, severities=("error",)):
        if all(name in pins for name in violation.rule.packages):
            found.append(PinnedBreak(violation))
    return found
