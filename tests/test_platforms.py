"""Specification: --platform takes the names pip's --platform takes (legacy manylinux aliases,
musllinux, macOS, Windows) with the meaning each implies, and refuses absurd version numbers
at once instead of building an endless tag list."""

from __future__ import annotations

import time

import pytest

from ftlock.errors import UsageError
from ftlock.resolve.target import PlatformTarget
from tests.support.dists import build_wheel
from tests.support.locks import entry, pins
from tests.support.cli import error_line


# -- what each name means ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "newest", "oldest"),
    [
        ("manylinux1_x86_64", "manylinux_2_5_x86_64", "manylinux1_x86_64"),
        ("manylinux2010_x86_64", "manylinux_2_12_x86_64", "manylinux1_x86_64"),
        ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux1_x86_64"),
        ("manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_5_aarch64"),
        ("manylinux2010_i686", "manylinux_2_12_i686", "manylinux1_i686"),
        ("manylinux_2_28_x86_64", "manylinux_2_28_x86_64", "manylinux1_x86_64"),
        ("linux_x86_64", "manylinux_2_28_x86_64", "manylinux1_x86_64"),
    ],
)
def test_a_glibc_platform_installs_every_manylinux_wheel_up_to_its_glibc(name, newest, oldest):
    platform = PlatformTarget.parse(name)
    tags = platform.platform_tags

    assert (tags[0], tags[-2], tags[-1]) == (newest, oldest, f"linux_{platform.machine}")


def test_legacy_names_are_the_glibc_releases_pep_600_gives_them():
    for legacy, glibc in (("manylinux1", "2_5"), ("manylinux2010", "2_12"), ("manylinux2014", "2_17")):
        tags = PlatformTarget.parse(f"{legacy}_x86_64").platform_tags
        assert tags[0] == f"manylinux_{glibc}_x86_64"
        assert f"{legacy}_x86_64" in tags
        assert f"manylinux_2_{int(glibc.split('_')[1]) + 1}_x86_64" not in tags


def test_legacy_aliases_appear_only_for_the_cpus_they_were_defined_for():
    tags = PlatformTarget.parse("manylinux_2_28_aarch64").platform_tags

    assert "manylinux2014_aarch64" in tags
    assert not any(t.startswith(("manylinux1_", "manylinux2010_")) for t in tags)


@pytest.mark.parametrize(
    ("name", "system", "machine", "first"),
    [
        ("musllinux_1_2_x86_64", "Linux", "x86_64", "musllinux_1_2_x86_64"),
        ("macosx_11_0_arm64", "Darwin", "arm64", "macosx_11_0_arm64"),
        ("macosx_10_9_x86_64", "Darwin", "x86_64", "macosx_10_9_x86_64"),
        ("win_amd64", "Windows", "AMD64", "win_amd64"),
        ("win32", "Windows", "x86", "win32"),
        ("win_arm64", "Windows", "ARM64", "win_arm64"),
        ("linux_aarch64", "Linux", "aarch64", "manylinux_2_28_aarch64"),
        ("manylinux_2_17_s390x", "Linux", "s390x", "manylinux_2_17_s390x"),
    ],
)
def test_each_platform_name_sets_the_marker_environment_and_tags(name, system, machine, first):
    platform = PlatformTarget.parse(name)

    assert (platform.system, platform.machine, platform.platform_tags[0]) == (system, machine, first)


def test_musllinux_takes_older_musl_wheels_and_no_manylinux_ones():
    tags = PlatformTarget.parse("musllinux_1_2_x86_64").platform_tags

    assert tags == ("musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64", "linux_x86_64")


def test_names_are_read_case_and_separator_insensitively():
    assert PlatformTarget.parse("ManyLinux2014-x86_64").platform_tags[0] == "manylinux_2_17_x86_64"
    assert PlatformTarget.parse("macosx-11.0-arm64").platform_tags[0] == "macosx_11_0_arm64"


def test_the_help_explains_every_legacy_name(ftlock):
    help_text = " ".join(ftlock("solve", "--help").stdout.split())

    for phrase in (
        "manylinux2014_ARCH (= manylinux_2_17)",
        "manylinux2010_ARCH (= manylinux_2_12)",
        "manylinux1_ARCH (= manylinux_2_5)",
        "musllinux_1_N_ARCH",
        "win32",
    ):
        assert phrase in help_text


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("manylinux1_aarch64", "manylinux1 is defined only for i686, x86_64; use manylinux_2_N_aarch64"),
        ("manylinux_2_100_x86_64", "glibc version out of range (each number at most 99)"),
        ("manylinux_3_1_x86_64", "manylinux_2_N is the only glibc series (2.5 to 2.99)"),
        ("manylinux_2_4_x86_64", "glibc 2.4 is older than 2.5"),
        ("macosx_100_0_arm64", "macOS version out of range (each number at most 99)"),
        ("musllinux_2_1_x86_64", "musllinux_1_N is the only musl series"),
    ],
)
def test_names_that_mean_no_real_platform_are_refused(name, message):
    with pytest.raises(UsageError) as caught:
        PlatformTarget.parse(name)

    assert str(caught.value) == f"--platform {name!r}: {message}"


def test_an_absurd_glibc_number_fails_at_once_with_one_line(ftlock, app_index):
    huge = "manylinux_2_" + "9" * 5000 + "_x86_64"
    started = time.perf_counter()

    result = ftlock("solve", "app", "--platform", huge, index=app_index)

    assert time.perf_counter() - started < 2
    assert result.exit_code == 2
    assert error_line(result).startswith("error: --platform 'manylinux_2_99999")
    assert error_line(result).endswith("...': glibc version out of range (each number at most 99)")


def test_the_highest_accepted_glibc_is_2_99():
    assert PlatformTarget.parse("manylinux_2_99_x86_64").platform_tags[0] == "manylinux_2_99_x86_64"


def test_a_project_configuration_accepts_legacy_names_and_names_bad_numbers(tmp_path):
    from ftlock.project import config

    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.ftlock]\nrequirements = ["a"]\nplatform = "manylinux2014_x86_64"\n')
    assert config.load(path).targets[0].platform == "manylinux2014_x86_64"

    path.write_text('[tool.ftlock]\nrequirements = ["a"]\nplatform = "manylinux_2_123_x86_64"\n')
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    assert str(caught.value) == (
        "pyproject.toml: tool.ftlock.platform: 'manylinux_2_123_x86_64': glibc version out of "
        "range (each number at most 99)"
    )


# -- solving with them -----------------------------------------------------------------------------


@pytest.fixture
def eras(local_index, dists_dir):  # type: ignore[no-untyped-def]
    """``native``: one cp311 wheel per manylinux era, newest version for the newest glibc."""
    index = local_index()
    for version, plat in (
        ("1.0", "manylinux1_x86_64"),
        ("2.0", "manylinux2010_x86_64"),
        ("3.0", "manylinux2014_x86_64"),
        ("4.0", "manylinux_2_28_x86_64"),
    ):
        index.add(build_wheel(dists_dir, "native", version, tag=f"cp311-cp311-{plat}"))
    return index


@pytest.mark.parametrize(
    ("platform", "version"),
    [
        ("manylinux1_x86_64", "1.0"),
        ("manylinux2010_x86_64", "2.0"),
        ("manylinux2014_x86_64", "3.0"),
        ("manylinux_2_17_x86_64", "3.0"),
        ("manylinux_2_28_x86_64", "4.0"),
    ],
)
def test_legacy_wheels_are_selected_for_the_matching_targets(eras, ftlock, platform, version):
    result = ftlock("solve", "native", "--platform", platform, index=eras)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == [f"native=={version}"]
    assert f"for CPython 3.11, {platform}." in result.lock


def test_a_manylinux2014_wheel_is_chosen_for_a_manylinux_2_28_target(local_index, dists_dir, ftlock):
    index = local_index()
    wheel = index.add(build_wheel(dists_dir, "old", "1.0", tag="cp311-cp311-manylinux2014_x86_64"))
    index.add(build_wheel(dists_dir, "old", "1.0", tag="cp311-cp311-musllinux_1_1_x86_64"))

    result = ftlock("solve", "old", "--platform", "manylinux_2_28_x86_64", index=index)

    assert result.exit_code == 0, result.stderr
    assert entry(result.lock, "old==1.0") == ["old==1.0 \\", f"    --hash=sha256:{wheel.sha256}", "    # via requested"]


def test_a_musllinux_target_takes_the_musl_wheel_only(local_index, dists_dir, ftlock):
    index = local_index()
    index.add(build_wheel(dists_dir, "native", "2.0", tag="cp311-cp311-manylinux2014_x86_64"))
    musl = index.add(build_wheel(dists_dir, "native", "1.0", tag="cp311-cp311-musllinux_1_1_x86_64"))

    result = ftlock("solve", "native", "--platform", "musllinux_1_2_x86_64", index=index)

    assert pins(result.lock) == ["native==1.0"]
    assert f"--hash=sha256:{musl.sha256}" in result.lock


def test_windows_32_bit_markers_hold_for_a_win32_target(local_index, dists_dir, ftlock):
    index = local_index()
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=['x86only; platform_machine == "x86"', 'amd; platform_machine == "AMD64"']))
    index.add(build_wheel(dists_dir, "x86only", "1.0", tag="cp311-cp311-win32"))

    result = ftlock("solve", "app", "--platform", "win32", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "x86only==1.0"]

