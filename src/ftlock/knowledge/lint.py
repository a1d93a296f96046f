"""What ``ftlock kb lint`` requires beyond what loading a rule file checks.

Loading (:mod:`ftlock.knowledge.loader`) accepts any well-formed rule, so that a team's
``--rules`` file works the day it is written.  Lint holds rules to the standard of the
built-in ones: every bound of every package range names the releases either side of it
that were verified (``verified``, :class:`~ftlock.knowledge.models.Verified`), or says why
one cannot be named.  A bound written off by one (``>`` for ``>=``) then fails
tests/test_rule_boundaries.py instead of letting the first bad release through.
"""

from __future__ import annotations

from ftlock.knowledge.rules import PackageRange, Rule, Verified

#: the operators that give a range a lower / an upper bound
LOWER_BOUND = frozenset({">=", ">", "==", "~=", "==="})
UPPER_BOUND = frozenset({"<", "<=", "==", "~=", "==="})

#: the releases that verify a lower and an upper bound, when the range's versions are the
#: bad ones, and when they are the good ones (a ``requires`` rule's ``then``)
_BAD_INSIDE = {"lower": ("last_good", "first_bad"), "upper": ("last_bad", "first_good")}
_BAD_OUTSIDE = {"lower": ("last_bad", "first_good"), "upper": ("last_good", "first_bad")}


def expected(package: PackageRange, bad_inside: bool) -> dict[str, str]:
    """``field -> the bound it verifies`` for every release the range's bounds call for."""
    fields = _BAD_INSIDE if bad_inside else _BAD_OUTSIDE
    out: dict[str, str] = {}
    for clause in package.specifier:
        wildcard = clause.version.endswith(".*")
        for side, operators in (("lower", LOWER_BOUND), ("upper", UPPER_BOUND)):
            if clause.operator in operators or (wildcard and clause.operator == "=="):
                for name in fields[side]:
                    out.setdefault(name, f"{clause.operator}{clause.version}")
    return out


def _check(package: PackageRange, bad_inside: bool, entry: Verified | None) -> list[str]:
    calls_for = expected(package, bad_inside)
    if entry is None:
        if not calls_for:
            return []
        return [
            f"verified: no entry for {package} (the releases either side of its bounds, "
            "or `unverified` saying why they cannot be named)"
        ]
    if not calls_for:
        return [f"verified: {package.name} has no version bound to verify"]
    problems = [
        f"verified: {package.name}: {field} {version} verifies no bound of {package}"
        for field, version in entry.releases()
        if field not in calls_for
    ]
    missing = [field for field in calls_for if getattr(entry, field) is None]
    if missing and entry.unverified is None:
        problems += [
            f"verified: {package.name}: no {field} for the bound {calls_for[field]} (name the "
            "release, or say in `unverified` why none can be)"
            for field in missing
        ]
    if not missing and entry.unverified is not None:
        problems.append(f"verified: {package.name}: `unverified` given, but every release is")
    return problems


def problems(rule: Rule) -> list[str]:
    """What keeps ``rule`` from passing lint (nothing: an empty list)."""
    entries = {v.name: v for v in rule.verified}
    out: list[str] = []
    for package, bad_inside in rule.ranges():
        out += _check(package, bad_inside, entries.get(package.name))
    return out
