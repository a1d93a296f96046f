"""Specification: the team lock lifecycle — `ftlock lock` for every configured target,
minimal re-locks, --upgrade / --upgrade-package, and the pre-merge `lock --check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftlock.lock.lockfile import read_lock
from tests.support.dists import build_wheel

TARGETS = """
[tool.ftlock.targets.a100]
python = "3.11"
platform = "linux_x86_64"
gpu = "a100"

[tool.ftlock.targets.cpu]
python = "3.11"
platform = "linux_x86_64"
"""


class Project:
    """A project directory with a pyproject.toml served from one local index."""

    def __init__(self, root: Path, index, ftlock) -> None:  # type: ignore[no-untyped-def]
        self.root = root
        self.index = index
        self.ftlock = ftlock
        self.cache = root.parent / "project-cache"
        root.mkdir(parents=True, exist_ok=True)

    def configure(self, requirements: list[str], extra: str = "", targets: str = TARGETS) -> None:
        reqs = ", ".join(f'"{r}"' for r in requirements)
        text = f'[tool.ftlock]\nrequirements = [{reqs}]\nindex-url = "{self.index.url}"\n{extra}\n{targets}'
        (self.root / "pyproject.toml").write_text(text)

    def run(self, *args: str, refresh: bool = True):  # type: ignore[no-untyped-def]
        argv = ["lock", *args, "--config", str(self.root / "pyproject.toml"), "--cache-dir", str(self.cache)]
        if refresh and "--check" not in args:
            argv.append("--refresh")  # the index changes between steps of a scenario
        return self.ftlock(*argv)

    def pins(self, name: str = "a100") -> dict[str, str]:
        return read_lock(self.root / f"requirements-{name}.txt").pins()

    def text(self, name: str = "a100") -> str:
        return (self.root / f"requirements-{name}.txt").read_text()


@pytest.fixture
def project(tmp_path, local_index, ftlock):  # type: ignore[no-untyped-def]
    return Project(tmp_path / "proj", local_index(), ftlock)


def add(project: Project, dists: Path, name: str, version: str, requires: list[str] = (), **opts):  # type: ignore[no-untyped-def, assignment]
    return project.index.add(build_wheel(dists, name, version, requires_dist=list(requires)), **opts)


def input_lines(text: str) -> list[str]:
    return [l for l in text.splitlines() if l.startswith("# Input")]


# -- lock --------------------------------------------------------------------------------------


def test_lock_writes_one_hash_pinned_lock_per_target(project, dists_dir):
    add(project, dists_dir, "app", "1.0", ["lib>=1"])
    add(project, dists_dir, "lib", "1.0")
    project.configure(["app"])

    result = project.run()

    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "a100: requirements-a100.txt: 2 packages (new lock)",
        "cpu: requirements-cpu.txt: 2 packages (new lock)",
    ]
    for name in ("a100", "cpu"):
        text = project.text(name)
        assert f"# Command: ftlock lock --target {name}" in text
        assert "app==1.0 \\" in text.splitlines()
        assert "    # via pyproject.toml" in text.splitlines()
        assert "    # via app" in text.splitlines()
    assert "# Input: gpu a100" in project.text("a100")
    assert "# Input: gpu a100" not in project.text("cpu")
    assert input_lines(project.text("cpu"))[1:] == [
        "# Input: format requirements",
        f"# Input: index {project.index.url}",
        "# Input: platform linux_x86_64",
        "# Input: python 3.11",
        "# Input: require app (pyproject.toml)",
    ]


def test_relocking_unchanged_inputs_gives_the_same_bytes(project, dists_dir):
    add(project, dists_dir, "app", "1.0", ["lib>=1"])
    add(project, dists_dir, "lib", "1.0")
    project.configure(["app"])
    project.run()
    before = project.text()

    result = project.run()

    assert result.exit_code == 0, result.stderr
    assert project.text() == before
    assert "a100: requirements-a100.txt: 2 packages (no changes)" in result.stderr.splitlines()


def test_target_option_writes_only_that_target(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    project.configure(["app"])

    result = project.run("--target", "cpu")

    assert result.exit_code == 0, result.stderr
    assert (project.root / "requirements-cpu.txt").exists()
    assert not (project.root / "requirements-a100.txt").exists()
    assert "# Command: ftlock lock --target cpu" in project.text("cpu")


def test_a_target_that_cannot_be_solved_leaves_every_lock_untouched(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    project.index.add(build_wheel(dists_dir, "modern", "1.0", requires_python=">=3.12"), requires_python=">=3.12")
    project.configure(["app"], targets=TARGETS + '\n[tool.ftlock.targets.new]\npython = "3.12"\nplatform = "linux_x86_64"\n')
    project.run()
    old = {n: project.text(n) for n in ("a100", "cpu", "new")}
    # modern needs Python 3.12: the "new" target can lock it, a100 and cpu (3.11) cannot
    project.configure(["app", "modern"], targets=TARGETS + '\n[tool.ftlock.targets.new]\npython = "3.12"\nplatform = "linux_x86_64"\n')

    result = project.run()

    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert {n: project.text(n) for n in ("a100", "cpu", "new")} == old


def test_relocking_keeps_every_pin_the_new_input_does_not_force(project, dists_dir):
    add(project, dists_dir, "app", "1.0", ["lib>=1"])
    add(project, dists_dir, "lib", "1.0")
    add(project, dists_dir, "other", "1.0")
    project.configure(["app", "other"])
    project.run()
    # newer versions of everything appear on the index; datasets needs lib>=2
    add(project, dists_dir, "app", "2.0", ["lib>=1"])
    add(project, dists_dir, "lib", "2.0")
    add(project, dists_dir, "lib", "3.0")
    add(project, dists_dir, "other", "2.0")
    add(project, dists_dir, "datasets", "1.0", ["lib>=2,<3"])
    project.configure(["app", "other", "datasets"])

    result = project.run()

    assert result.exit_code == 0, result.stderr
    assert project.pins() == {"app": "1.0", "datasets": "1.0", "lib": "2.0", "other": "1.0"}
    assert "a100: requirements-a100.txt: 4 packages (+ datasets 1.0, lib 1.0 -> 2.0)" in result.stderr.splitlines()


def test_upgrade_re_solves_every_package_freely(project, dists_dir):
    add(project, dists_dir, "app", "1.0", ["lib>=1"])
    add(project, dists_dir, "lib", "1.0")
    project.configure(["app"])
    project.run()
    add(project, dists_dir, "app", "2.0", ["lib>=1"])
    add(project, dists_dir, "lib", "2.0")

    kept = project.run()
    pins_after_plain_relock = project.pins()
    result = project.run("--upgrade")

    assert kept.exit_code == 0 and result.exit_code == 0, result.stderr
    assert pins_after_plain_relock == {"app": "1.0", "lib": "1.0"}
    assert project.pins() == {"app": "2.0", "lib": "2.0"}


def test_upgrade_package_moves_that_package_and_only_what_it_forces(project, dists_dir):
    add(project, dists_dir, "adapters", "0.11.1", ["backend>=2.0"])
    add(project, dists_dir, "backend", "2.0")
    add(project, dists_dir, "modelkit", "4.40")
    project.configure(["modelkit", "adapters"])
    project.run()
    add(project, dists_dir, "adapters", "0.12.0", ["backend>=2.1"])
    add(project, dists_dir, "backend", "2.1")
    add(project, dists_dir, "backend", "2.2")
    add(project, dists_dir, "modelkit", "4.41")

    result = project.run("--upgrade-package", "adapters")

    assert result.exit_code == 0, result.stderr
    # backend moves because adapters 0.12.0 forces it (to the newest that fits, as its pin no longer
    # does); modelkit has a newer version too, but nothing forces it
    assert project.pins() == {"adapters": "0.12.0", "backend": "2.2", "modelkit": "4.40"}
    assert result.stderr.splitlines() == [
        "a100: requirements-a100.txt: 3 packages (adapters 0.11.1 -> 0.12.0, backend 2.0 -> 2.2)",
        "cpu: requirements-cpu.txt: 3 packages (adapters 0.11.1 -> 0.12.0, backend 2.0 -> 2.2)",
    ]


def test_upgrade_package_to_an_exact_version(project, dists_dir):
    for version in ("1.0", "1.5", "2.0"):
        add(project, dists_dir, "lib", version)
    add(project, dists_dir, "other", "1.0")
    project.configure(["lib<2", "other"])
    project.run("--upgrade-package", "lib==1.0")
    assert project.pins() == {"lib": "1.0", "other": "1.0"}

    result = project.run("-P", "lib==1.5")

    assert result.exit_code == 0, result.stderr
    assert project.pins() == {"lib": "1.5", "other": "1.0"}


def test_upgrade_package_to_a_version_the_inputs_exclude_fails_and_writes_nothing(project, dists_dir):
    for version in ("1.0", "2.0"):
        add(project, dists_dir, "lib", version)
    project.configure(["lib<2"])
    project.run()
    before = project.text()

    result = project.run("-P", "lib==2.0")

    assert result.exit_code == 1
    assert result.stderr.startswith("error: --upgrade-package lib==2.0: ")
    assert project.text() == before


def test_upgrade_package_of_a_package_not_in_the_lock_warns(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    project.configure(["app"], targets="")
    project.run()

    result = project.run("-P", "nope")

    assert result.exit_code == 0, result.stderr
    assert "warning: default: --upgrade-package nope: not in the current lock" in result.stderr.splitlines()


def test_local_requirement_files_are_named_relative_to_the_project(project, dists_dir, monkeypatch):
    add(project, dists_dir, "app", "1.0")
    add(project, dists_dir, "lib", "1.0")
    (project.root / "requirements").mkdir()
    (project.root / "requirements" / "train.in").write_text("app\n-r base.in\n")
    (project.root / "requirements" / "base.in").write_text("lib\n")
    (project.root / "pyproject.toml").write_text(
        f'[tool.ftlock]\nrequirement-files = ["requirements/train.in"]\nindex-url = "{project.index.url}"\n'
    )
    sub = project.root / "src"
    sub.mkdir()
    monkeypatch.chdir(sub)  # the configuration is found from a subdirectory

    result = project.ftlock("lock", "--cache-dir", str(project.cache))

    assert result.exit_code == 0, result.stderr
    lines = (project.root / "requirements.txt").read_text().splitlines()
    assert "    # via -r requirements/train.in" in lines
    assert "    # via -r requirements/base.in" in lines
    assert "# Input: require app (-r requirements/train.in)" in lines
    assert "# Input: require lib (-r requirements/base.in)" in lines


# -- check -------------------------------------------------------------------------------------


def test_check_passes_for_fresh_locks_without_any_network(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    project.configure(["app"])
    project.run()

    with project.index.assert_no_requests():
        result = project.run("--check")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "ok     a100: requirements-a100.txt",
        "ok     cpu: requirements-cpu.txt",
    ]
    assert result.stderr.splitlines() == ["2 lock(s) up to date"]


def test_check_works_with_the_index_down(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    project.configure(["app"])
    project.run()
    project.index.stop()

    result = project.run("--check")

    assert result.exit_code == 0, result.stdout + result.stderr


def test_check_fails_naming_the_added_input_and_relock_fixes_it(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    add(project, dists_dir, "datasets", "1.0")
    project.configure(["app"])
    project.run()
    project.configure(["app", "datasets"])

    stale = project.run("--check")
    project.run()
    fixed = project.run("--check")

    assert stale.exit_code == 1
    assert stale.stdout.splitlines() == [
        "stale  a100: requirements-a100.txt",
        "         - added requirement: datasets (pyproject.toml)",
        "stale  cpu: requirements-cpu.txt",
        "         - added requirement: datasets (pyproject.toml)",
    ]
    assert stale.stderr.splitlines() == ["2 of 2 lock(s) out of date; run `ftlock lock` and commit the result"]
    assert fixed.exit_code == 0, fixed.stdout


def test_check_names_removed_inputs_and_changed_settings(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    add(project, dists_dir, "lib", "1.0")
    project.configure(["app", "lib"])
    project.run()
    project.configure(["app"], extra="exclude-newer = 2024-06-01", targets=TARGETS.replace('gpu = "a100"', 'gpu = "h100"'))

    result = project.run("--check", "--target", "a100")

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "stale  a100: requirements-a100.txt",
        "         - gpu: a100 -> h100",
        "         - exclude-newer: not set -> 2024-06-01T00:00:00+00:00",
        "         - removed requirement: lib (pyproject.toml)",
    ]
    assert result.stderr.splitlines() == [
        "1 of 1 lock(s) out of date; run `ftlock lock --target a100` and commit the result"
    ]


def test_check_sees_a_changed_requirement_file_but_not_a_changed_comment(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    add(project, dists_dir, "datasets", "1.0")
    (project.root / "requirements.in").write_text("app\n")
    project.configure([], extra='requirement-files = ["requirements.in"]', targets="")
    project.run()

    (project.root / "requirements.in").write_text("# training stack\napp   # the app\n")
    comment_only = project.run("--check")
    (project.root / "requirements.in").write_text("app\ndatasets\n")
    changed = project.run("--check")

    assert comment_only.exit_code == 0, comment_only.stdout
    assert changed.exit_code == 1
    assert changed.stdout.splitlines() == [
        "stale  default: requirements.txt",
        "         - added requirement: datasets (-r requirements.in)",
    ]


def test_check_ignores_a_change_of_spacing_in_a_requirement(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    project.configure(["app >= 1.0"])
    project.run()
    project.configure(["app>=1.0"])

    result = project.run("--check")

    assert result.exit_code == 0, result.stdout
    assert "# Input: require app>=1.0 (pyproject.toml)" in project.text().splitlines()


def test_check_reports_a_missing_lock(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    project.configure(["app"])
    project.run("--target", "a100")

    result = project.run("--check")

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "ok     a100: requirements-a100.txt",
        "stale  cpu: requirements-cpu.txt",
        "         - requirements-cpu.txt does not exist",
    ]


def test_check_rejects_a_lock_not_written_by_lock(project, dists_dir, ftlock):
    add(project, dists_dir, "app", "1.0")
    project.configure(["app"], targets="")
    ftlock("solve", "app", index=project.index, output=project.root / "requirements.txt")

    result = project.run("--check")

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "stale  default: requirements.txt",
        "         - requirements.txt records no inputs fingerprint (it was not written by `ftlock lock`)",
    ]


def test_check_notices_a_hand_edited_input_record(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    project.configure(["app"], targets="")
    project.run()
    lock = project.root / "requirements.txt"
    lock.write_text(lock.read_text().replace("# Input: require app", "# Input: require app>=1"))

    result = project.run("--check")

    assert result.exit_code == 1
    assert result.stdout.splitlines()[1] == (
        "         - the recorded inputs do not match the recorded fingerprint (was the header edited?)"
    )


RULE = """
[[conflict]]
id = "team-app-1-lib-2"
summary = "app 1.x crashes at import with lib 2"
symptom = "ImportError: cannot import name 'old_api' from 'lib'"
fix = "Keep lib below 2 with app 1.x"
sources = ["https://github.com/example/app/issues/1"]
added = 2026-01-01
a = { name = "app", versions = "<2" }
b = { name = "lib", versions = ">=2" }
example = { bad = ["app==1.0", "lib==2.0"], good = ["app==1.0", "lib==1.0"] }
"""


def test_check_names_a_new_knowledge_rule_the_lock_breaks(project, dists_dir):
    add(project, dists_dir, "app", "1.0", ["lib>=1"])
    add(project, dists_dir, "lib", "1.0")
    add(project, dists_dir, "lib", "2.0")
    (project.root / "rules").mkdir()
    project.configure(["app"], extra='rules = ["rules"]', targets="")
    project.run()
    assert read_lock(project.root / "requirements.txt").pins() == {"app": "1.0", "lib": "2.0"}

    (project.root / "rules" / "team.toml").write_text(RULE)
    stale = project.run("--check")
    project.run()
    fixed = project.run("--check")

    assert stale.exit_code == 1
    assert stale.stdout.splitlines() == [
        "stale  default: requirements.txt",
        "         - knowledge rule added: team-app-1-lib-2",
        "         - the lock breaks knowledge rule team-app-1-lib-2: app 1.0, lib 2.0: app 1.x crashes "
        "at import with lib 2 (fix: Keep lib below 2 with app 1.x; source: https://github.com/example/app/issues/1)",
    ]
    assert read_lock(project.root / "requirements.txt").pins() == {"app": "1.0", "lib": "1.0"}
    assert fixed.exit_code == 0, fixed.stdout


def test_check_refresh_reports_a_pin_that_was_yanked(project, dists_dir):
    add(project, dists_dir, "app", "1.0", ["lib>=1"])
    add(project, dists_dir, "lib", "1.0")
    wheel = build_wheel(dists_dir, "lib", "1.1")
    project.index.add(wheel)
    project.configure(["app"], targets="")
    project.run()
    project.index.add(wheel, yanked="corrupt wheel")

    offline_check = project.run("--check")
    refreshed = project.run("--check", "--refresh")

    assert offline_check.exit_code == 0  # inputs unchanged: the plain check needs no index
    assert refreshed.exit_code == 1
    assert refreshed.stdout.splitlines() == [
        "stale  default: requirements.txt",
        "         - a fresh solve moves lib 1.1 -> 1.0 (lib 1.1 is yanked: corrupt wheel)",
    ]


def test_check_refresh_passes_when_a_fresh_solve_keeps_every_pin(project, dists_dir):
    add(project, dists_dir, "app", "1.0", ["lib>=1"])
    add(project, dists_dir, "lib", "1.0")
    project.configure(["app"], targets="")
    project.run()
    add(project, dists_dir, "lib", "2.0")  # newer, but the pin still fits: no reason to move

    result = project.run("--check", "--refresh")

    assert result.exit_code == 0, result.stdout
    assert result.stdout.splitlines() == ["ok     default: requirements.txt"]


def test_check_refresh_reports_new_files_for_a_pinned_version(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    project.configure(["app"], targets="")
    project.run()
    from tests.support.dists import build_sdist

    project.index.add(build_sdist(dists_dir, "app", "1.0"))

    result = project.run("--check", "--refresh")

    assert result.exit_code == 1
    assert result.stdout.splitlines()[1] == (
        "         - app 1.0: the index now offers other files (hashes differ)"
    )


def test_check_and_upgrade_cannot_be_combined(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    project.configure(["app"])

    result = project.run("--check", "--upgrade")

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --check writes nothing; it cannot be combined with --upgrade/--upgrade-package"
    ]


def test_output_flag_needs_a_single_target(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    project.configure(["app"])

    several = project.run("-o", str(project.root / "x.txt"))
    single = project.run("--target", "cpu", "-o", str(project.root / "x.txt"))

    assert several.exit_code == 2
    assert several.stderr.splitlines() == ["error: -o/--output needs a single target (use --target NAME)"]
    assert single.exit_code == 0, single.stderr
    assert (project.root / "x.txt").exists()


def test_command_line_python_overrides_every_target(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    project.configure(["app"])

    result = project.run("--python", "3.12")

    assert result.exit_code == 0, result.stderr
    assert "# This file was generated by ftlock" in project.text("cpu")
    assert "for CPython 3.12, linux_x86_64." in project.text("cpu")
    assert "# Input: python 3.12" in project.text("a100").splitlines()


def test_check_names_an_edited_knowledge_rule(project, dists_dir):
    add(project, dists_dir, "app", "1.0", ["lib>=1"])
    add(project, dists_dir, "lib", "1.0")
    (project.root / "rules").mkdir()
    (project.root / "rules" / "team.toml").write_text(RULE)
    project.configure(["app"], extra='rules = ["rules"]', targets="")
    project.run()
    lines = (project.root / "requirements.txt").read_text().splitlines()
    assert [l.rsplit(" ", 1)[0] for l in lines if l.startswith("# Input: rule ")] == [
        "# Input: rule team-app-1-lib-2"
    ]

    (project.root / "rules" / "team.toml").write_text(RULE.replace('versions = ">=2"', 'versions = ">=1.5"'))
    result = project.run("--check")

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "stale  default: requirements.txt",
        "         - knowledge rule changed: team-app-1-lib-2",
    ]


def test_the_project_dependencies_and_groups_are_locked_as_pyproject_inputs(project, dists_dir):
    add(project, dists_dir, "app", "1.0")
    add(project, dists_dir, "trainer-extra", "1.0")
    (project.root / "pyproject.toml").write_text(
        '[project]\nname = "me"\nversion = "0"\ndependencies = ["app"]\n'
        '[project.optional-dependencies]\ntrain = ["trainer-extra"]\n'
        f'[tool.ftlock]\ngroups = ["train"]\nindex-url = "{project.index.url}"\n'
    )

    result = project.run()

    assert result.exit_code == 0, result.stderr
    lines = (project.root / "requirements.txt").read_text().splitlines()
    assert read_lock(project.root / "requirements.txt").pins() == {"app": "1.0", "trainer-extra": "1.0"}
    assert "# Input: require app (pyproject.toml)" in lines
    assert "# Input: require trainer-extra (pyproject.toml)" in lines
    assert lines.count("    # via pyproject.toml") == 2
