"""Many input requirements on one project become one requirement before the solver sees them.

resolvelib adds the user's requirements one at a time, and each time it asks the provider
for the project's candidates under *every* requirement on it so far.  With 10,000 lines on
one project (a generated requirements list, a requirement repeated by a script) that is
50 million specifier checks before the first pin: the quadratic step behind a 151 s lock.

Two lines that say the same thing (same project, extras and specifier) are one requirement.
Beyond :data:`SEPARATE_UP_TO` different lines on one project, they are merged into a single
requirement whose specifier is their intersection — the same versions, so the same answer,
found in linear time.  Up to that many stay separate, so that a conflict between a few
lines is still explained line by line ("you requested a>=2; you requested a<2").

Direct references and knowledge-rule requirements are never merged.
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.specifiers import SpecifierSet

from ftlock.resolve.candidates import Requirement

#: different requirements on one project kept apart for the explanation of a conflict
SEPARATE_UP_TO = 8


def _mergeable(req: Requirement) -> bool:
    return not req.url and req.exclude is None and not req.optional and req.rule is None


def collapse(requirements: Sequence[Requirement]) -> list[Requirement]:
    """``requirements`` with duplicates dropped and long runs on one project merged, in the
    order of each project's first line (the solver's tie-break is the user's order)."""
    groups: dict[object, list[Requirement]] = {}
    for req in requirements:
        key: object = req.identifier if _mergeable(req) else ("as is", id(req))
        group = groups.setdefault(key, [])
        if not any(other.specifier == req.specifier for other in group[-SEPARATE_UP_TO:] if _mergeable(req)):
            group.append(req)
    out: list[Requirement] = []
    for group in groups.values():
        if len(group) <= SEPARATE_UP_TO:
            out += group
            continue
        first = group[0]
        # built once: ``&`` on each would copy the growing set every time (quadratic again)
        merged = SpecifierSet(",".join(str(spec) for req in group for spec in req.specifier))
        # what a conflict explanation quotes: the first line and how many more (the merged
        # specifier of 10,000 lines is no message)
        text = f"{first.describe()} and {len(group) - 1:,} more requirements on {first.identifier}"
        out.append(Requirement(first.name, merged, first.extras, None, text))
    return out
