"""Specification: every built-in rule acts exactly at the bounds of its ranges.

A rule's example pins a version well inside its range; a bound applied off by one (``<``
read as ``<=``, an inclusive lower bound treated as exclusive) would pass that example and
still let the last bad or the first good release through.  So for every conflict and
requires rule, the bad example is re-checked with one package moved to each bound its
range names: an inclusive bound (``>=V``, ``<=V``, ``==V``) must still break the rule, an
exclusive one (``<V``, ``>V``, ``!=V``) must not.
"""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ftlock.knowledge.engine import Knowledge, TargetFacts
from ftlock.knowledge.loader import builtin_rules
from ftlock.knowledge.models import ConflictRule, PackageRange, RequiresRule

INCLUSIVE = {">=", "<=", "==", "~="}
EXCLUSIVE = {">", "<", "!="}


def _bounds():  # type: ignore[no-untyped-def]
    for item in builtin_rules():
        rule = item.rule
        if isinstance(rule, ConflictRule):
            sides: tuple[PackageRange, ...] = (rule.a, rule.b)
        elif isinstance(rule, RequiresRule):
            sides = (rule.if_installed,)
        else:
            continue
        for side in sides:
            for clause in side.specifier:
                if clause.version.endswith(".*") or clause.operator == "===":
                    continue
                yield pytest.param(
                    item, side, clause.operator, clause.version,
                    id=f"{rule.id}:{side.name}{clause.operator}{clause.version}",
                )


def _with(pins: tuple[str, ...], name: str, version: str) -> dict[str, str]:
    out = {}
    for text in pins:
        req = Requirement(text)
        pinned = next(iter(req.specifier)).version
        out[canonicalize_name(req.name)] = version if canonicalize_name(req.name) == name else pinned
    out.setdefault(name, version)
    return out


@pytest.mark.parametrize(("item", "side", "operator", "version"), list(_bounds()))
def test_a_rule_breaks_exactly_up_to_the_bounds_of_its_ranges(item, side, operator, version):  # type: ignore[no-untyped-def]
    rule = item.rule
    example = rule.example
    knowledge = Knowledge([item], TargetFacts.build(example.features, example.gpu))
    installed = _with(example.bad, side.name, version)
    # the other clauses of the same range decide too (>=1,<2 at 1: in; at 2: out)
    expected = side.contains(version) and (operator in INCLUSIVE or operator not in EXCLUSIVE)
    if operator in INCLUSIVE and not side.contains(version):
        pytest.skip("the range's other clauses exclude this bound")  # e.g. >=2,!=2 — none today

    broken = [v.rule.id for v in knowledge.violations(installed)]

    assert (rule.id in broken) is expected, (installed, broken)
