"""Specification: [tool.ftlock] in pyproject.toml — validation, defaults, project inputs and
command-line overrides."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from ftlock.project.config import ConfigError, Overrides, find_config, load
from ftlock.errors import UsageError
from ftlock.gpu.gpus import catalog


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(textwrap.dedent(text))
    return path


def error_of(path: Path, overrides: Overrides = Overrides()) -> str:
    with pytest.raises(UsageError) as info:
        load(path, overrides)
    return str(info.value)


# -- validation: one line naming the location ------------------------------------------------


def test_an_unknown_gpu_is_one_error_naming_the_target_key(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft"]
        [tool.ftlock.targets.a100]
        gpu = "a1000"
    """)

    assert error_of(path) == (
        "pyproject.toml: tool.ftlock.targets.a100.gpu: unknown GPU 'a1000' "
        f"(known: {', '.join(catalog())})"
    )


def test_an_unknown_key_is_an_error_listing_the_known_keys(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft"]
        [tool.ftlock.targets.cpu]
        pyhton = "3.11"
    """)

    assert error_of(path) == (
        "pyproject.toml: tool.ftlock.targets.cpu.pyhton: unknown key "
        "(known: features, format, gpu, output, platform, python)"
    )


def test_an_unknown_top_level_key_is_an_error(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft"]
        index = "https://mirror.example/simple"
    """)

    assert error_of(path).startswith("pyproject.toml: tool.ftlock.index: unknown key (known: ")


def test_an_invalid_requirement_is_named_with_its_position(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft", "trl >>= 1"]
    """)

    message = error_of(path)
    assert message.startswith("pyproject.toml: tool.ftlock.requirements[1]: invalid requirement 'trl >>= 1': ")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('format = "pip"', "tool.ftlock.format: input should be 'requirements' or 'pylock', got 'pip'"),
        ('exclude-newer = "last week"', "tool.ftlock.exclude-newer: 'last week' is not a date (use YYYY-MM-DD or an RFC 3339 time)"),
        ('python = "2.7"', "tool.ftlock.python: '2.7' is not a CPython version such as 3.11 or 3.11.7"),
        ('extra-index-urls = "https://a.example/simple"', "tool.ftlock.extra-index-urls: expected a list"),
        ('prerelease = "sometimes"', "tool.ftlock.prerelease: input should be 'allow', 'if-necessary' or 'explicit', got 'sometimes'"),
        ("features = [8]", "tool.ftlock.features[0]: expected a string, got 8"),
    ],
)
def test_wrong_values_are_one_error_naming_the_key(tmp_path, line, expected):
    path = write(tmp_path, f"""
        [tool.ftlock]
        requirements = ["peft"]
        {line}
    """)

    assert error_of(path) == f"pyproject.toml: {expected}"


def test_an_unknown_platform_in_a_target_is_named(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft"]
        [tool.ftlock.targets.pi]
        platform = "riscv"
    """)

    assert error_of(path).startswith(
        "pyproject.toml: tool.ftlock.targets.pi.platform: unknown platform 'riscv'"
    )


def test_a_target_name_that_cannot_name_a_file_is_rejected(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft"]
        [tool.ftlock.targets."a/b"]
        python = "3.11"
    """)

    assert error_of(path) == (
        "pyproject.toml: tool.ftlock.targets: target name 'a/b': use letters, digits, '-' and '_' "
        "(it names the lock file)"
    )


def test_invalid_toml_is_one_error(tmp_path):
    path = write(tmp_path, "[tool.ftlock\n")

    assert error_of(path).startswith("pyproject.toml: invalid TOML (")


def test_the_cli_reports_a_config_error_on_one_line_with_exit_2(tmp_path, ftlock):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft"]
        [tool.ftlock.targets.a100]
        gpu = "a1000"
    """)

    result = ftlock("lock", "--config", str(path))

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: pyproject.toml: tool.ftlock.targets.a100.gpu: unknown GPU 'a1000' "
        f"(known: {', '.join(catalog())})"
    ]


# -- inputs ----------------------------------------------------------------------------------


def test_without_requirements_the_project_dependencies_and_named_groups_are_locked(tmp_path):
    path = write(tmp_path, """
        [project]
        name = "my-trainer"
        version = "0"
        dependencies = ["transformers>=4.40", "peft"]
        [project.optional-dependencies]
        train = ["trl", "my-trainer[data]"]
        data = ["datasets"]
        docs = ["sphinx"]
        [tool.ftlock]
        groups = ["train"]
    """)

    project = load(path)

    assert project.requirements == ("transformers>=4.40", "peft", "trl", "datasets")
    assert project.requirements_label == "pyproject.toml"


def test_an_unknown_group_is_an_error_listing_the_groups(tmp_path):
    path = write(tmp_path, """
        [project]
        name = "x"
        version = "0"
        dependencies = ["peft"]
        [project.optional-dependencies]
        train = ["trl"]
        [tool.ftlock]
        groups = ["training"]
    """)

    assert error_of(path) == (
        "pyproject.toml: tool.ftlock.groups: no group 'training' in "
        "[project.optional-dependencies] (groups: train)"
    )


def test_groups_with_explicit_requirements_is_an_error(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft"]
        groups = ["train"]
    """)

    assert error_of(path) == (
        "pyproject.toml: tool.ftlock.groups: only used with [project].dependencies; "
        "remove it or remove tool.ftlock.requirements"
    )


def test_explicit_requirements_replace_the_project_dependencies(tmp_path):
    path = write(tmp_path, """
        [project]
        name = "x"
        version = "0"
        dependencies = ["peft"]
        [tool.ftlock]
        requirements = ["requests", "rich"]
    """)

    assert load(path).requirements == ("requests", "rich")


def test_nothing_to_lock_is_an_error(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        python = "3.11"
    """)

    assert error_of(path) == (
        "pyproject.toml: nothing to lock: set tool.ftlock.requirements or [project].dependencies"
    )


def test_requirement_files_alone_are_enough_and_paths_are_relative_to_the_project(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirement-files = ["requirements/train.in"]
        constraint-files = ["constraints.txt"]
        rules = ["team-rules"]
    """)

    project = load(path)

    assert project.requirements == ()
    assert project.requirement_files == (tmp_path / "requirements/train.in",)
    assert project.constraint_files == (tmp_path / "constraints.txt",)
    assert project.rules == (tmp_path / "team-rules",)


def test_exclude_newer_accepts_a_toml_date(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft"]
        exclude-newer = 2024-06-01
    """)

    assert load(path).exclude_newer == dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)


# -- targets ---------------------------------------------------------------------------------


def test_targets_inherit_defaults_and_name_their_outputs_by_format(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft"]
        python = "3.11"
        platform = "linux_x86_64"
        features = ["load_in_8bit"]
        [tool.ftlock.targets.a100]
        gpu = "A100"
        features = ["load_in_4bit"]
        [tool.ftlock.targets.cpu]
        python = "3.12"
        format = "pylock"
        [tool.ftlock.targets.mac]
        platform = "macosx_14_0_arm64"
        output = "locks/mac.txt"
    """)

    targets = {t.name: t for t in load(path).targets}

    assert targets["a100"].gpu == "a100"
    assert targets["a100"].features == ("load_in_4bit", "load_in_8bit")
    assert targets["a100"].output == tmp_path / "requirements-a100.txt"
    assert (targets["a100"].python, targets["a100"].platform) == ("3.11", "linux_x86_64")
    assert (targets["cpu"].python, targets["cpu"].format) == ("3.12", "pylock")
    assert targets["cpu"].output == tmp_path / "pylock.cpu.toml"
    assert targets["mac"].platform == "macosx_14_0_arm64"
    assert targets["mac"].output == tmp_path / "locks/mac.txt"


def test_without_targets_there_is_one_default_target(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft"]
        format = "pylock"
    """)

    (target,) = load(path).targets

    assert (target.name, target.output, target.format) == ("default", tmp_path / "pylock.toml", "pylock")


def test_command_line_flags_override_the_configuration(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft"]
        index-url = "https://config.example/simple"
        features = ["load_in_8bit"]
        prerelease = "explicit"
        [tool.ftlock.targets.a100]
        python = "3.11"
        gpu = "a100"
        features = ["load_in_4bit"]
    """)

    project = load(
        path,
        Overrides(
            index_url="https://cli.example/simple",
            python="3.12",
            gpu="h100",
            features=("flash_attn",),
            prerelease="allow",
            exclude_newer=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc),
        ),
    )
    (target,) = project.targets

    assert project.index_url == "https://cli.example/simple"
    assert project.prerelease == "allow"
    assert project.exclude_newer == dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    assert (target.python, target.gpu) == ("3.12", "h100")
    assert target.features == ("flash_attn", "load_in_4bit")


def test_an_unknown_target_on_the_command_line_lists_the_targets(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft"]
        [tool.ftlock.targets.a100]
        gpu = "a100"
        [tool.ftlock.targets.cpu]
    """)

    with pytest.raises(UsageError) as info:
        load(path).select(("t4",))

    assert str(info.value) == "--target 't4': no such target in pyproject.toml (targets: a100, cpu)"


def test_the_nearest_pyproject_is_found_from_a_subdirectory(tmp_path):
    path = write(tmp_path, """
        [tool.ftlock]
        requirements = ["peft"]
    """)
    sub = tmp_path / "src" / "pkg"
    sub.mkdir(parents=True)

    assert find_config(sub) == path


def test_config_errors_are_usage_errors_with_exit_code_2():
    assert issubclass(ConfigError, UsageError)
    assert ConfigError.exit_code == 2
