"""Specification: knowledge rules are enforced inside the solve and reported by check."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ftlock.knowledge.engine import Knowledge, TargetFacts
from ftlock.knowledge.loader import KnowledgeError, builtin_rules, load_file
from ftlock.knowledge.rules import AbiRule, ConflictRule, MetadataRule, RequiresRule
from tests.support.dists import build_wheel
from tests.support.locks import pinned as pins

RULE = "unsloth-2024.7-peft-0.12-zero-qkv"


def stderr_line(result) -> str:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[0]


@pytest.fixture
def unsloth_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    index = local_index()
    for name, version in [
        ("unsloth", "2024.7"),
        ("peft", "0.11.1"),
        ("peft", "0.12.0"),
        ("other", "1.0"),
    ]:
        index.add(build_wheel(dists_dir, name, version))
    return index


# -- enforcement inside the solve --------------------------------------------------------------


def test_a_conflict_rule_makes_the_solver_pick_the_newest_version_outside_the_bad_range(
    unsloth_index, ftlock
):
    result = ftlock("solve", "unsloth==2024.7", "peft", index=unsloth_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["peft==0.11.1", "unsloth==2024.7"]
    assert (
        f"    # ftlock: peft not >=0.12.0 (if installed) because unsloth 2024.7 — rule {RULE}, "
        "https://github.com/unslothai/unsloth/issues/804"
    ) in result.lock.splitlines()


def test_a_conflict_rule_never_pulls_the_other_package_in(unsloth_index, ftlock):
    result = ftlock("solve", "unsloth==2024.7", index=unsloth_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["unsloth==2024.7"]


def test_a_conflict_acts_from_either_side(local_index, dists_dir, ftlock):
    index = local_index()
    for name, version in [("unsloth", "2024.7"), ("unsloth", "2024.6"), ("peft", "0.12.0")]:
        index.add(build_wheel(dists_dir, name, version))

    result = ftlock("solve", "peft==0.12.0", "unsloth<2024.8", index=index)

    assert result.exit_code == 1
    line = stderr_line(result)
    assert f"knowledge rule {RULE}" in line
    assert "https://github.com/unslothai/unsloth/issues/804" in line
    assert "fix: Upgrade unsloth to 2024.8" in line


def test_ignore_rule_lets_the_bad_pair_through_and_the_header_says_so(unsloth_index, ftlock):
    result = ftlock("solve", "unsloth==2024.7", "peft", "--ignore-rule", RULE, index=unsloth_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["peft==0.12.0", "unsloth==2024.7"]
    assert f"# Knowledge rules NOT applied (--ignore-rule): {RULE}" in result.lock.splitlines()
    assert "--ignore-rule" not in result.lock.split("# Command:")[1].splitlines()[0]


def test_no_knowledge_names_the_rules_it_skipped(unsloth_index, ftlock):
    result = ftlock("solve", "unsloth==2024.7", "peft", "--no-knowledge", index=unsloth_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["peft==0.12.0", "unsloth==2024.7"]
    assert f"# Knowledge rules NOT applied (--no-knowledge): {RULE}" in result.lock


def test_a_solve_that_involves_no_rule_package_is_identical_without_knowledge(
    unsloth_index, ftlock
):
    with_rules = ftlock("solve", "other", "-o", "-", index=unsloth_index)
    without = ftlock("solve", "other", "-o", "-", "--no-knowledge", index=unsloth_index)

    assert with_rules.exit_code == without.exit_code == 0
    assert with_rules.stdout == without.stdout


def test_an_unknown_ignore_rule_id_is_a_usage_error(unsloth_index, ftlock):
    result = ftlock("solve", "other", "--ignore-rule", "no-such-rule", index=unsloth_index)

    assert result.exit_code == 2
    assert "unknown rule id(s) no-such-rule" in stderr_line(result)


TEAM_RULES = textwrap.dedent(
    """
    [[requires]]
    id = "app-2-needs-plugin-1.5"
    summary = "app 2 loads the plugin API that plugin 1.5 introduced"
    symptom = "ImportError: cannot import name 'hook' from 'plugin'"
    fix = "install plugin>=1.5 with app 2"
    sources = ["https://example.org/app/releases/2.0"]
    added = 2026-11-27
    if = { name = "app", versions = ">=2" }
    then = { name = "plugin", versions = ">=1.5" }
    example = { bad = ["app==2.0", "plugin==1.0"], good = ["app==2.0", "plugin==1.5"] }

    [[requires]]
    id = "app-8bit-needs-quant"
    summary = "app loads 8-bit weights through quant"
    symptom = "ImportError: load_in_8bit requires quant"
    fix = "install quant"
    sources = ["https://example.org/app/issues/8"]
    added = 2026-11-27
    when = { features = ["load_in_8bit"] }
    if = { name = "app" }
    then = { name = "quant", versions = ">=0.4" }
    example = { bad = ["app==2.0", "quant==0.3"], good = ["app==2.0", "quant==0.4"], features = ["load_in_8bit"] }

    [[metadata]]
    id = "lib-1.0-forgot-numpyish"
    summary = "lib 1.0 imports helper but its metadata does not declare it"
    symptom = "ModuleNotFoundError: No module named 'helper'"
    fix = "install helper alongside lib 1.0"
    sources = ["https://example.org/lib/issues/1"]
    added = 2026-11-27
    package = { name = "lib", versions = "==1.0" }
    requires_dist = ["helper>=2"]
    example = { bad = ["lib==1.0"], good = ["lib==1.1"] }
    """
)


@pytest.fixture
def team_rules(tmp_path: Path) -> Path:
    path = tmp_path / "team.toml"
    path.write_text(TEAM_RULES)
    return path


@pytest.fixture
def app_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    index = local_index()
    for name, version in [
        ("app", "2.0"),
        ("plugin", "1.0"),
        ("plugin", "1.5"),
        ("quant", "0.3"),
        ("quant", "0.4"),
        ("lib", "1.0"),
        ("helper", "1.0"),
        ("helper", "2.0"),
    ]:
        index.add(build_wheel(dists_dir, name, version))
    return index


def test_a_requires_rule_pulls_in_the_needed_package_in_range(app_index, team_rules, ftlock):
    result = ftlock("solve", "app", "--rules", str(team_rules), index=app_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==2.0", "plugin==1.5"]
    assert "rule app-2-needs-plugin-1.5" in result.lock


def test_a_requires_rule_narrows_a_package_the_user_asked_for(app_index, team_rules, ftlock):
    result = ftlock("solve", "app", "plugin<2", "--rules", str(team_rules), index=app_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==2.0", "plugin==1.5"]


def test_a_feature_condition_turns_a_rule_on_only_when_declared(app_index, team_rules, ftlock):
    plain = ftlock("solve", "app", "--rules", str(team_rules), index=app_index)
    eight_bit = ftlock(
        "solve", "app", "--rules", str(team_rules), "--feature", "load_in_8bit", index=app_index
    )

    assert "quant==0.4" not in pins(plain.lock)
    assert eight_bit.exit_code == 0, eight_bit.stderr
    assert pins(eight_bit.lock) == ["app==2.0", "plugin==1.5", "quant==0.4"]


def test_a_metadata_rule_replaces_the_published_requirements(app_index, team_rules, ftlock):
    result = ftlock("solve", "lib==1.0", "--rules", str(team_rules), index=app_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["helper==2.0", "lib==1.0"]


def test_an_unsatisfiable_requires_rule_names_the_rule_and_its_fix(app_index, team_rules, ftlock):
    result = ftlock("solve", "app", "plugin==1.0", "--rules", str(team_rules), index=app_index)

    assert result.exit_code == 1
    line = stderr_line(result)
    assert "app 2.0 needs plugin>=1.5 by knowledge rule app-2-needs-plugin-1.5" in line
    assert "fix: install plugin>=1.5 with app 2" in line


# -- check --------------------------------------------------------------------------------------


def test_check_reports_a_broken_rule_with_symptom_fix_and_source(unsloth_index, ftlock, tmp_path):
    freeze = tmp_path / "freeze.txt"
    freeze.write_text("unsloth==2024.7\npeft==0.12.0\n")

    result = ftlock("check", str(freeze), "--index-url", unsloth_index.url, "--cache-dir", str(tmp_path / "c"))

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "error: unsloth 2024.7 must not be used with peft>=0.12.0: Unsloth before 2024.8 with peft "
        "0.12+ patches 0 QKV/O/MLP layers (Gemma 2 notebook) "
        f"[rule {RULE}] symptom: Unsloth 2024.7 patched 42 layers with 0 QKV layers, 0 O layers "
        "and 0 MLP layers. | fix: Upgrade unsloth to 2024.8 or later, or keep peft below 0.12 "
        "(0.11.x) with unsloth 2024.7 | source: https://github.com/unslothai/unsloth/issues/804"
    ]


def test_check_passes_a_set_that_breaks_nothing(unsloth_index, ftlock, tmp_path):
    freeze = tmp_path / "freeze.txt"
    freeze.write_text("unsloth==2024.7\npeft==0.11.1\n")

    result = ftlock("check", str(freeze), "--index-url", unsloth_index.url, "--cache-dir", str(tmp_path / "c"))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_check_reports_a_metadata_conflict_naming_both_packages_and_the_specifier(
    local_index, dists_dir, ftlock, tmp_path
):
    index = local_index()
    index.add(build_wheel(dists_dir, "gcsfs", "2025.3.2", requires_dist=["fsspec==2025.3.2"]))
    index.add(build_wheel(dists_dir, "fsspec", "2024.12.0"))
    freeze = tmp_path / "freeze.txt"
    freeze.write_text("gcsfs==2025.3.2\nfsspec==2024.12.0\n")

    result = ftlock("check", str(freeze), "--index-url", index.url, "--cache-dir", str(tmp_path / "c"))

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "error: gcsfs 2025.3.2 requires fsspec==2025.3.2, but fsspec 2024.12.0 is installed"
    ]


def test_check_json_format_lists_problems(unsloth_index, ftlock, tmp_path):
    import json

    freeze = tmp_path / "freeze.txt"
    freeze.write_text("unsloth==2024.7\npeft==0.12.0\n")

    result = ftlock(
        "check", str(freeze), "--format", "json", "--index-url", unsloth_index.url,
        "--cache-dir", str(tmp_path / "c"),
    )

    data = json.loads(result.stdout)
    assert result.exit_code == 1
    assert [p["rule"] for p in data["problems"]] == [RULE]
    assert data["checked"] == 2


def test_check_of_a_live_environment_reads_its_installed_metadata(ftlock, tmp_path):
    import sys

    result = ftlock("check", "--python", sys.executable)

    assert "Traceback" not in result.stderr
    assert "packages checked" in result.stderr


# -- the rule base itself -----------------------------------------------------------------------


def test_every_builtin_rule_loads_with_a_source_and_an_example():
    rules = [item.rule for item in builtin_rules()]

    assert rules, "no rules shipped"
    for rule in rules:
        assert rule.sources and all(str(s).startswith("https://") for s in rule.sources), rule.id
        assert rule.example.bad and rule.example.good, rule.id


def test_kb_lint_names_the_file_and_rule_of_a_bad_edit(tmp_path, ftlock):
    bad = tmp_path / "bad.toml"
    bad.write_text(TEAM_RULES.replace('sources = ["https://example.org/lib/issues/1"]', "sources = []"))

    result = ftlock("kb", "lint", str(bad))

    assert result.exit_code == 2
    assert stderr_line(result).startswith("error: bad.toml: rule 'lib-1.0-forgot-numpyish': sources:")


def test_kb_list_and_show_describe_the_rules(ftlock):
    listed = ftlock("kb", "list")
    shown = ftlock("kb", "show", RULE)

    assert listed.exit_code == 0
    assert any(line.startswith(RULE) for line in listed.stdout.splitlines())
    assert "Sources:  https://github.com/unslothai/unsloth/issues/804" in shown.stdout.splitlines()


# -- one generated scenario per built-in rule ---------------------------------------------------


def _pin(text: str) -> tuple[str, str]:
    req = Requirement(text)
    return req.name, next(iter(req.specifier)).version


def _version_in(spec: str) -> str:
    """Some version inside ``spec``, for the wheels a metadata rule's dependencies need."""
    specifier = SpecifierSet(spec)
    tried = [s.version for s in specifier if not s.version.endswith("*")] + ["0.1", "1.0", "2.0", "10.0", "100.0"]
    for text in tried:
        for candidate in (text, f"{text}.1", f"{Version(text).major + 1}.0"):
            if specifier.contains(candidate, prereleases=True):
                return candidate
    raise AssertionError(f"no test version inside {spec!r}")


def _class_member(rule, name: str) -> dict:  # type: ignore[no-untyped-def]
    """For a class rule (kind abi): the example's other packages are built as members of
    the class — a compiled wheel requiring the library, uploaded before the cut-off (the
    local index's default upload time, 2024-01-01, is before every cut-off)."""
    if not isinstance(rule, AbiRule) or name == rule.library.name:
        return {}
    return {"tag": "cp37-abi3-manylinux_2_17_x86_64", "requires_dist": [rule.library.name]}


@pytest.mark.parametrize("item", builtin_rules(), ids=lambda item: item.rule.id)
def test_builtin_rule_scenario(item, local_index, dists_dir, ftlock, tmp_path):  # type: ignore[no-untyped-def]
    """Each rule's example: check reports the bad set and passes the good one; a solve that
    is free to choose never lands in the bad combination."""
    rule = item.rule
    example = rule.example
    index = local_index()
    versions: dict[str, set[str]] = {}
    for text in example.bad + example.good:
        name, version = _pin(text)
        versions.setdefault(name, set()).add(version)
    if isinstance(rule, MetadataRule):
        for text in rule.requires_dist or ():
            dep = Requirement(text)
            versions.setdefault(dep.name, set()).add(_version_in(str(dep.specifier)))
    for name, found in versions.items():
        for version in found:
            index.add(build_wheel(dists_dir, name, version, **_class_member(rule, name)))
    flags: list[str] = [f"--feature={f}" for f in example.features]
    if example.gpu:
        flags.append(f"--gpu={example.gpu}")
    common = ["--index-url", index.url, "--cache-dir", str(tmp_path / "cache"), *flags]

    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(example.bad) + "\n")
    good = tmp_path / "good.txt"
    good.write_text("\n".join(example.good) + "\n")
    bad_check = ftlock("check", str(bad), *common)
    good_check = ftlock("check", str(good), *common)

    if isinstance(rule, MetadataRule):
        # the corrected metadata is what check and solve use
        anchor = example.bad[0]
        solved = ftlock("solve", anchor, *flags, index=index)
        assert solved.exit_code == 0, solved.stderr
        wanted = {Requirement(t).name for t in rule.requires_dist or ()}
        assert wanted <= set(p.split("==")[0] for p in pins(solved.lock)), solved.lock
        return
    assert f"[rule {rule.id}]" in bad_check.stdout, bad_check.stdout + bad_check.stderr
    assert f"[rule {rule.id}]" not in good_check.stdout, good_check.stdout
    if rule.severity == "error":
        assert bad_check.exit_code == 1
        names = sorted(versions)
        # this rule alone: other rules on the example's packages (e.g. two GPU rules that
        # between them forbid every version on that GPU, or a rule that adds a package this
        # scenario's index does not serve) are scenarios of their own
        others = [
            f"--ignore-rule={other.rule.id}" for other in builtin_rules()
            if other.rule.id != rule.id and set(other.rule.packages) & (set(rule.packages) | set(names))
        ]
        # with a GPU, torch would come from a PyTorch CUDA index: here the scenario's index
        # serves every build
        torch_index = [f"--torch-index={index.url}"] if example.gpu else []
        solved = ftlock("solve", *names, *flags, *others, *torch_index, index=index)
        assert solved.exit_code == 0, solved.stderr
        locked = dict(p.split("==") for p in pins(solved.lock))
        broken = Knowledge([item], TargetFacts.build(example.features, example.gpu)).violations(locked)
        assert broken == [], solved.lock
