"""Specification: every built-in rule acts exactly at the bounds of its ranges.

A rule's example pins a version well inside its range; a bound applied off by one (``<``
read as ``<=``, an inclusive lower bound treated as exclusive) would pass that example and
still let the last bad or the first good release through.  Two checks:

* the releases the audit verified either side of each bound (``verified`` in the rule's
  TOML, the "verified releases" column of docs/knowledge-audit.md): every bad one must be in
  the rule's case and every good one outside it, as the solver decides it — the knowledge
  engine's requirements for a pinned release and the exclusion they carry.  A bound flipped
  in the TOML (``>=2.0.0`` to ``>2.0.0``: flash-attn 2.0.0 would pass on a T4) fails here,
  naming the rule, because the releases are data independent of the range;
* the engine itself: for every conflict and requires rule, the bad example is re-checked
  with one package moved to each bound its range names: an inclusive bound (``>=V``,
  ``<=V``, ``==V``) must still break the rule, an exclusive one (``<V``, ``>V``, ``!=V``)
  must not.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from msgspec.structs import replace
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from ftlock.knowledge.classes import ReleaseFacts
from ftlock.knowledge.engine import Knowledge, TargetFacts
from ftlock.knowledge.lint import problems
from ftlock.knowledge.loader import LoadedRule, builtin_rules
from ftlock.knowledge.rules import AbiRule, ConflictRule, MetadataRule, PackageRange, RequiresRule
from ftlock.knowledge.render import verified
from ftlock.resolve.candidates import Requirement as SolverRequirement

AUDIT = Path(__file__).resolve().parent.parent / "docs" / "knowledge-audit.md"

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


# -- the verified releases either side of each bound ----------------------------------------------


def _verified():  # type: ignore[no-untyped-def]
    for item in builtin_rules():
        for entry in item.rule.verified:
            for field, version in entry.releases():
                yield pytest.param(
                    item, entry.name, field, version, id=f"{item.rule.id}:{entry.name}:{field}={version}"
                )


def _enforced(item: LoadedRule) -> tuple[Knowledge, object]:
    """The rule as the solver enforces it, alone, for its example's target.  A warn rule is
    reported, not enforced: it is checked as if it were an error, its ranges are the same."""
    rule = item.rule if item.rule.severity == "error" else replace(item.rule, severity="error")
    example = rule.example
    return Knowledge([LoadedRule(rule, item.file)], TargetFacts.build(example.features, example.gpu)), rule


def _bad_pins(rule) -> dict[str, Version]:  # type: ignore[no-untyped-def]
    return {canonicalize_name(Requirement(t).name): Version(next(iter(Requirement(t).specifier)).version) for t in rule.example.bad}


def _release_in_class(rule: AbiRule) -> ReleaseFacts:
    """The facts of a release in the class: a compiled wheel from before the ABI break that
    requires the library without an upper bound."""
    day = rule.built_before
    before = datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() - 86400
    return ReleaseFacts((before,), (Requirement(rule.library.name),))


def _by_trigger(knowledge: Knowledge, rule, name: str, version: Version) -> bool:  # type: ignore[no-untyped-def]
    """Pinning ``name==version`` makes the rule add its requirement (the range applies)."""
    return any(spec.rule.id == rule.id for spec in knowledge.requirements_for(name, version))


def _by_exclusion(knowledge: Knowledge, rule, name: str, version: Version) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    """With the rule's other package pinned as in its bad example, whether the requirement
    the rule adds on ``name`` (an exclusion, or a ``then`` range) rejects ``version``."""
    out = {}
    for other, pinned in _bad_pins(rule).items():
        facts = _release_in_class(rule) if isinstance(rule, AbiRule) else None
        for spec in knowledge.requirements_for(other, pinned, facts) if other != name else ():
            if spec.rule.id == rule.id and canonicalize_name(spec.name) == name:
                required = SolverRequirement(
                    canonicalize_name(name), spec.specifier, exclude=spec.exclude, optional=spec.optional, rule=rule
                )
                out[f"requirement from {other} {pinned}"] = not required.accepts_version(version)
    assert out, f"rule {rule.id}: no requirement on {name} from its bad example {rule.example.bad}"
    return out


def _engine_says(item: LoadedRule, name: str, version: Version) -> dict[str, bool]:
    """``how -> whether version is the rule's case`` for every way the solver decides it."""
    knowledge, rule = _enforced(item)
    if isinstance(rule, MetadataRule):
        found = knowledge.metadata_rule(name, version)
        return {"metadata correction": found is not None and found.id == rule.id}
    trigger = isinstance(rule, ConflictRule) or (isinstance(rule, RequiresRule) and name == rule.if_installed.name)
    out = {f"requirement on pinning {name}": _by_trigger(knowledge, rule, name, version)} if trigger else {}
    if not (isinstance(rule, RequiresRule) and name == rule.if_installed.name):
        out.update(_by_exclusion(knowledge, rule, name, version))
    return out


@pytest.mark.parametrize(("item", "name", "field", "version"), list(_verified()))
def test_each_verified_release_lies_on_its_side_of_the_rule(item, name, field, version):  # type: ignore[no-untyped-def]
    bad = field.endswith("_bad")

    found = _engine_says(item, name, Version(version))

    wrong = {how: is_bad for how, is_bad in found.items() if is_bad is not bad}
    assert not wrong, (
        f"rule {item.rule.id}: {name} {version} is its verified {field.replace('_', ' ')} release, but "
        + "; ".join(f"the {how} treats it as {'bad' if is_bad else 'good'}" for how, is_bad in wrong.items())
        + f" (range: {next(r for r, _ in item.rule.ranges() if r.name == name)})"
    )


def test_every_bound_of_every_builtin_rule_names_its_verified_releases():
    found = {item.rule.id: problems(item.rule) for item in builtin_rules()}

    assert {rule: p for rule, p in found.items() if p} == {}


def _audit_rows() -> dict[str, str]:
    """``rule id -> its "verified releases" cell`` in docs/knowledge-audit.md."""
    rows = {}
    for line in AUDIT.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `([^`]+)` \| [^|]* \| ([^|]*) \| <", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_the_audit_names_the_same_verified_releases_as_the_data():
    rows = _audit_rows()

    for item in builtin_rules():
        assert rows.get(item.rule.id) == verified(item.rule), item.rule.id
    assert set(rows) == {item.rule.id for item in builtin_rules()}


LINTED = """
[[conflict]]
id = "lib-1-plugin-2"
summary = "lib 1.x cannot load plugin 2 and later"
symptom = "ImportError: cannot import name 'hook' from 'lib'"
fix = "Upgrade lib to 2.0"
sources = ["https://example.org/lib/issues/1"]
added = 2026-12-01
a = { name = "lib", versions = "<2.0" }
b = { name = "plugin", versions = ">=2.0" }
VERIFIED
example = { bad = ["lib==1.9", "plugin==2.0"], good = ["lib==2.0", "plugin==2.0"] }
"""


@pytest.mark.parametrize(
    ("verified_lines", "errors"),
    [
        pytest.param(
            'verified = [{ name = "lib", last_bad = "1.9", first_good = "2.0" }, { name = "plugin", last_good = "1.5", first_bad = "2.0" }]',
            [], id="every-bound",
        ),
        pytest.param(
            'verified = [{ name = "lib", last_bad = "1.9", first_good = "2.0" }, { name = "plugin", first_bad = "2.0", unverified = "no release below 2.0 was compared" }]',
            [], id="a-release-missing-with-why",
        ),
        pytest.param(
            'verified = [{ name = "lib", last_bad = "1.9", first_good = "2.0" }]',
            ["verified: no entry for plugin>=2.0"], id="no-entry",
        ),
        pytest.param(
            'verified = [{ name = "lib", last_bad = "1.9", first_good = "2.0" }, { name = "plugin", first_bad = "2.0" }]',
            ["verified: plugin: no last_good for the bound >=2.0"], id="a-release-missing",
        ),
        pytest.param(
            'verified = [{ name = "lib", last_bad = "1.9", first_good = "2.0", first_bad = "1.0" }, { name = "plugin", last_good = "1.5", first_bad = "2.0" }]',
            ["verified: lib: first_bad 1.0 verifies no bound of lib<2.0"], id="a-release-for-no-bound",
        ),
    ],
)
def test_kb_lint_requires_the_verified_releases_of_every_bound(ftlock, tmp_path, verified_lines, errors):  # type: ignore[no-untyped-def]
    path = tmp_path / "team.toml"
    path.write_text(LINTED.replace("VERIFIED", verified_lines))

    result = ftlock("kb", "lint", str(path))

    found = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert [line.split("': ", 1)[1].split(" (")[0] for line in found] == errors
    assert result.exit_code == (2 if errors else 0)
    assert all(line.startswith("error: team.toml: rule 'lib-1-plugin-2': ") for line in found)


def test_a_verified_release_must_be_a_package_of_the_rule_and_in_order(ftlock, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "team.toml"
    path.write_text(LINTED.replace("VERIFIED", 'verified = [{ name = "lib", last_bad = "2.0", first_good = "1.9" }]'))
    misnamed = tmp_path / "other.toml"
    misnamed.write_text(LINTED.replace("VERIFIED", 'verified = [{ name = "torch", first_bad = "2.0" }]'))

    unordered = ftlock("kb", "lint", str(path))
    unknown = ftlock("kb", "lint", str(misnamed))

    assert unordered.exit_code == 2 and "last_bad 2.0 must be older than first_good 1.9" in unordered.stderr
    assert unknown.exit_code == 2 and "verified: torch is not a package of this rule" in unknown.stderr


def test_a_rule_s_verified_record_is_not_part_of_what_a_team_lock_records_of_it():
    from ftlock.project.fingerprint import rule_digest

    for item in builtin_rules():
        bare = replace(item.rule, verified=())
        assert rule_digest(item.rule) == rule_digest(bare), item.rule.id
    edited = builtin_rules()[0].rule
    assert rule_digest(edited) != rule_digest(replace(edited, fix=edited.fix + "!"))
