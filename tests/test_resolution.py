"""Specification: which versions a solve picks (backtracking, extras, markers,
pre-releases, local and post versions, conflicts) and how the lock is written."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

from tests.support.dists import build_sdist, build_wheel, sha256_file
from tests.support.locks import entry, pins
from tests.support.cli import error_line


def hashes(lock: str, head: str) -> list[str]:
    """The sha256 hex digests listed under one package entry."""
    return [
        l.strip().removesuffix(" \\").removeprefix("--hash=sha256:")
        for l in entry(lock, head)
        if l.strip().startswith("--hash=")
    ]


# ------------------------------------------------------------------ backtracking


def test_backtracks_to_an_older_parent_when_the_newest_conflicts_on_a_shared_dependency(
    local_index, dists_dir, ftlock
):
    index = local_index()
    index.add(build_wheel(dists_dir, "a", "1.0", requires_dist=["c"]))
    index.add(build_wheel(dists_dir, "a", "2.0", requires_dist=["c<2"]))
    index.add(build_wheel(dists_dir, "b", "1.0", requires_dist=["c>=2"]))
    index.add(build_wheel(dists_dir, "c", "1.0"))
    index.add(build_wheel(dists_dir, "c", "2.0"))

    result = ftlock("solve", "a", "b", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==1.0", "b==1.0", "c==2.0"]
    assert entry(result.lock, "c==2.0")[2:] == ["    # via", "    #   a", "    #   b"]


def test_backtracks_through_two_levels_when_the_conflict_is_a_grandchild(
    local_index, dists_dir, ftlock
):
    # a 3.0 -> b>=2 -> (b 2.0) -> c<2   conflicts with   d -> c>=2
    # a 2.0 -> b<2  -> (b 1.0) -> c     is the newest a that works.
    index = local_index()
    index.add(build_wheel(dists_dir, "a", "2.0", requires_dist=["b<2"]))
    index.add(build_wheel(dists_dir, "a", "3.0", requires_dist=["b>=2"]))
    index.add(build_wheel(dists_dir, "b", "1.0", requires_dist=["c"]))
    index.add(build_wheel(dists_dir, "b", "2.0", requires_dist=["c<2"]))
    index.add(build_wheel(dists_dir, "b", "2.1", requires_dist=["c<2"]))
    index.add(build_wheel(dists_dir, "c", "1.0"))
    index.add(build_wheel(dists_dir, "c", "2.0"))
    index.add(build_wheel(dists_dir, "d", "1.0", requires_dist=["c>=2"]))

    result = ftlock("solve", "a", "d", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==2.0", "b==1.0", "c==2.0", "d==1.0"]


# ------------------------------------------------------------------ extras


def test_an_extra_pulls_in_its_dependency(local_index, dists_dir, ftlock):
    index = local_index()
    index.add(
        build_wheel(
            dists_dir, "a", "1.0", provides_extra=["x"], requires_dist=['xdep; extra == "x"']
        )
    )
    index.add(build_wheel(dists_dir, "xdep", "1.0"))

    plain = ftlock("solve", "a", index=index)
    extra = ftlock("solve", "a[x]", index=index)

    assert plain.exit_code == 0, plain.stderr
    assert pins(plain.lock) == ["a==1.0"]
    assert extra.exit_code == 0, extra.stderr
    assert pins(extra.lock) == ["a==1.0", "xdep==1.0"]
    assert entry(extra.lock, "xdep==1.0")[-1] == "    # via a"


def test_an_extra_that_names_other_extras_of_its_own_package_pulls_them_all(
    local_index, dists_dir, ftlock
):
    index = local_index()
    index.add(
        build_wheel(
            dists_dir,
            "a",
            "1.0",
            provides_extra=["x", "y", "all"],
            requires_dist=['xdep; extra == "x"', 'ydep; extra == "y"', 'a[x,y]; extra == "all"'],
        )
    )
    index.add(build_wheel(dists_dir, "xdep", "1.0"))
    index.add(build_wheel(dists_dir, "ydep", "1.0"))

    result = ftlock("solve", "a[all]", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==1.0", "xdep==1.0", "ydep==1.0"]
    assert entry(result.lock, "a==1.0")[-1] == "    # via requested"


def test_an_extra_never_splits_a_package_into_two_versions(local_index, dists_dir, ftlock):
    index = local_index()
    for version in ("1.0", "2.0"):
        index.add(
            build_wheel(
                dists_dir,
                "a",
                version,
                provides_extra=["x"],
                requires_dist=['xdep; extra == "x"'],
            )
        )
    index.add(build_wheel(dists_dir, "xdep", "1.0"))

    result = ftlock("solve", "a[x]", "a==1.0", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==1.0", "xdep==1.0"]


def test_a_requirement_on_an_unknown_extra_gives_just_the_base_package(
    local_index, dists_dir, ftlock
):
    index = local_index()
    index.add(
        build_wheel(
            dists_dir,
            "a",
            "1.0",
            provides_extra=["x"],
            requires_dist=["base-dep", 'xdep; extra == "x"'],
        )
    )
    index.add(build_wheel(dists_dir, "base-dep", "1.0"))
    index.add(build_wheel(dists_dir, "xdep", "1.0"))

    result = ftlock("solve", "a[nope]", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==1.0", "base-dep==1.0"]


# ------------------------------------------------------------------ markers


def test_a_platform_marker_is_evaluated_for_the_target_not_this_machine(
    local_index, dists_dir, ftlock
):
    index = local_index()
    index.add(
        build_wheel(dists_dir, "app", "1.0", requires_dist=['winonly; sys_platform == "win32"'])
    )
    index.add(build_wheel(dists_dir, "winonly", "1.0"))

    linux = ftlock("solve", "app", "--platform", "linux_x86_64", index=index)
    windows = ftlock("solve", "app", "--platform", "win_amd64", index=index)

    assert linux.exit_code == 0, linux.stderr
    assert pins(linux.lock) == ["app==1.0"]
    assert windows.exit_code == 0, windows.stderr
    assert pins(windows.lock) == ["app==1.0", "winonly==1.0"]
    assert "for CPython 3.11, win_amd64." in windows.lock


def test_a_python_version_marker_is_evaluated_for_the_target_python(
    local_index, dists_dir, ftlock
):
    index = local_index()
    index.add(
        build_wheel(dists_dir, "app", "1.0", requires_dist=['backport; python_version < "3.11"'])
    )
    index.add(build_wheel(dists_dir, "backport", "1.0"))

    py311 = ftlock("solve", "app", "--python", "3.11", index=index)
    py310 = ftlock("solve", "app", "--python", "3.10", index=index)

    assert py311.exit_code == 0, py311.stderr
    assert pins(py311.lock) == ["app==1.0"]
    assert py310.exit_code == 0, py310.stderr
    assert pins(py310.lock) == ["app==1.0", "backport==1.0"]


def test_markers_on_the_users_own_requirements_are_evaluated_for_the_target(
    local_index, dists_dir, ftlock
):
    index = local_index()
    index.add(build_wheel(dists_dir, "winonly", "1.0"))
    index.add(build_wheel(dists_dir, "linuxonly", "1.0"))

    result = ftlock(
        "solve",
        'winonly; sys_platform == "win32"',
        'linuxonly; sys_platform == "linux"',
        index=index,
    )

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["linuxonly==1.0"]
    assert index.count("/simple/winonly/") == 0


def test_only_files_that_install_on_the_target_are_hashed(local_index, dists_dir, ftlock):
    index = local_index()
    linux = build_wheel(dists_dir, "native", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    windows = build_wheel(dists_dir, "native", "1.0", tag="cp311-cp311-win_amd64")
    other_python = build_wheel(dists_dir, "native", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64")
    sdist = build_sdist(dists_dir, "native", "1.0")
    for path in (linux, windows, other_python, sdist):
        index.add(path)

    on_linux = ftlock("solve", "native", index=index)
    on_windows = ftlock("solve", "native", "--platform", "win_amd64", index=index)

    assert on_linux.exit_code == 0, on_linux.stderr
    assert hashes(on_linux.lock, "native==1.0") == sorted(
        sha256_file(p) for p in (linux, sdist)
    )
    assert on_windows.exit_code == 0, on_windows.stderr
    assert hashes(on_windows.lock, "native==1.0") == sorted(
        sha256_file(p) for p in (windows, sdist)
    )


# ------------------------------------------------------------------ pre-releases


@pytest.fixture
def rc_index(local_index, dists_dir):
    index = local_index()
    index.add(build_wheel(dists_dir, "a", "1.0"))
    index.add(build_wheel(dists_dir, "a", "2.0rc1"))
    return index


def test_a_pre_release_is_ignored_by_default(rc_index, ftlock):
    result = ftlock("solve", "a", index=rc_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==1.0"]


def test_a_specifier_that_names_a_pre_release_selects_it(rc_index, ftlock):
    result = ftlock("solve", "a>=2.0rc1", index=rc_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==2.0rc1"]


def test_prerelease_allow_selects_the_newest_pre_release(rc_index, ftlock):
    result = ftlock("solve", "a", "--prerelease", "allow", index=rc_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==2.0rc1"]


def test_prerelease_if_necessary_selects_a_pre_release_only_when_no_final_release_fits(
    rc_index, ftlock
):
    fits = ftlock("solve", "a", "--prerelease", "if-necessary", index=rc_index)
    needs_rc = ftlock("solve", "a>1.0", "--prerelease", "if-necessary", index=rc_index)
    explicit = ftlock("solve", "a>1.0", "--prerelease", "explicit", index=rc_index)

    assert fits.exit_code == 0, fits.stderr
    assert pins(fits.lock) == ["a==1.0"]
    assert needs_rc.exit_code == 0, needs_rc.stderr
    assert pins(needs_rc.lock) == ["a==2.0rc1"]
    assert explicit.exit_code == 1
    assert "a>1.0" in error_line(explicit)


def test_prerelease_explicit_refuses_a_project_with_only_pre_releases_with_a_hint_to_allow_them(
    local_index, dists_dir, ftlock
):
    """'explicit' is the strict policy: pre-releases only when a specifier names one (the
    default, like pip, takes a pre-release when nothing final exists: test_prereleases.py)."""
    index = local_index()
    index.add(build_wheel(dists_dir, "solo", "1.0b1"))

    result = ftlock("solve", "solo", "--prerelease", "explicit", index=index)
    allowed = ftlock("solve", "solo", "--prerelease", "if-necessary", index=index)

    assert result.exit_code == 1
    line = error_line(result)
    assert "no version of solo satisfies: you requested solo" in line
    assert "1.0b1" in line and "--prerelease if-necessary" in line
    assert allowed.exit_code == 0, allowed.stderr
    assert pins(allowed.lock) == ["solo==1.0b1"]


def test_a_dependency_specifier_that_names_a_pre_release_selects_it(rc_index, dists_dir, ftlock):
    rc_index.add(build_wheel(dists_dir, "b", "1.0", requires_dist=["a>=2.0rc1"]))

    result = ftlock("solve", "b", index=rc_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==2.0rc1", "b==1.0"]


# ------------------------------------------------------------------ local and post versions


def test_an_exact_pin_is_satisfied_by_a_local_version(local_index, dists_dir, ftlock):
    index = local_index()
    wheel = build_wheel(dists_dir, "torch", "2.5.1+cu124", tag="cp311-cp311-linux_x86_64")
    index.add(wheel)

    result = ftlock("solve", "torch==2.5.1", index=index)

    assert result.exit_code == 0, result.stderr
    assert entry(result.lock, "torch==2.5.1+cu124") == [
        "torch==2.5.1+cu124 \\",
        f"    --hash=sha256:{sha256_file(wheel)}",
        "    # via requested",
    ]


def test_a_post_release_is_newer_and_satisfies_a_lower_bound(local_index, dists_dir, ftlock):
    index = local_index()
    index.add(build_wheel(dists_dir, "a", "1.0"))
    index.add(build_wheel(dists_dir, "a", "1.0.post1"))

    result = ftlock("solve", "a>=1.0", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==1.0.post1"]


def test_an_exact_pin_does_not_select_a_post_release(local_index, dists_dir, ftlock):
    index = local_index()
    index.add(build_wheel(dists_dir, "a", "1.0"))
    index.add(build_wheel(dists_dir, "a", "1.0.post1"))

    result = ftlock("solve", "a==1.0", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==1.0"]


# ------------------------------------------------------------------ requires-python


def test_a_version_whose_metadata_requires_a_newer_python_is_skipped(
    local_index, dists_dir, ftlock
):
    # Requires-Python only in the wheel's METADATA: the index does not advertise it.
    index = local_index()
    index.add(build_wheel(dists_dir, "a", "1.0", requires_python=">=3.8"))
    index.add(build_wheel(dists_dir, "a", "2.0", requires_python=">=3.12"))

    result = ftlock("solve", "a", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==1.0"]


def test_a_version_the_index_marks_as_needing_a_newer_python_is_skipped(
    local_index, dists_dir, ftlock
):
    index = local_index()
    index.add(build_wheel(dists_dir, "a", "1.0"))
    index.add(build_wheel(dists_dir, "a", "2.0", requires_python=">=3.12"), requires_python=">=3.12")

    result = ftlock("solve", "a", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==1.0"]


# ------------------------------------------------------------------ unsatisfiable sets


def test_disjoint_requirements_on_a_shared_dependency_name_both_parents_and_specifiers(
    local_index, dists_dir, ftlock
):
    index = local_index()
    index.add(build_wheel(dists_dir, "a", "1.0", requires_dist=["shared<2"]))
    index.add(build_wheel(dists_dir, "b", "1.0", requires_dist=["shared>=2"]))
    index.add(build_wheel(dists_dir, "shared", "1.0"))
    index.add(build_wheel(dists_dir, "shared", "2.0"))

    result = ftlock("solve", "a", "b", index=index)

    assert result.exit_code == 1
    assert result.lock is None
    line = error_line(result)
    assert line.startswith("error: cannot solve: conflicting requirements on shared: ")
    assert "a 1.0 requires shared<2" in line
    assert "b 1.0 requires shared>=2" in line


def test_a_conflict_through_an_extra_names_the_package_that_asked_for_the_extra(
    local_index, dists_dir, ftlock
):
    index = local_index()
    for version in ("1", "2", "3"):
        index.add(
            build_wheel(
                dists_dir,
                "dep",
                version,
                provides_extra=["http"],
                requires_dist=['httpdep; extra == "http"'],
            )
        )
    index.add(build_wheel(dists_dir, "httpdep", "1.0"))
    index.add(build_wheel(dists_dir, "datasets", "1.0", requires_dist=["dep[http]<=2"]))
    index.add(build_wheel(dists_dir, "other", "1.0", requires_dist=["dep==3"]))

    result = ftlock("solve", "datasets", "other", index=index)

    assert result.exit_code == 1
    line = error_line(result)
    assert line.startswith("error: cannot solve: ")
    assert "datasets 1.0 requires dep[http]<=2" in line
    assert "other 1.0 requires dep==3" in line
    assert "dep[http] 2 requires" not in line
    assert "dep[http] 1 requires" not in line


def test_requires_python_that_no_version_meets_is_reported_with_the_target(
    local_index, dists_dir, ftlock
):
    index = local_index()
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["newpy"]))
    index.add(build_wheel(dists_dir, "newpy", "1.0", requires_python=">=3.12"))

    result = ftlock("solve", "app", index=index)

    assert result.exit_code == 1
    assert result.lock is None
    assert "newpy 1.0 requires Python >=3.12, but the target is CPython 3.11, linux_x86_64" in (
        result.stderr
    )
    assert result.stderr.startswith("error: cannot solve: ")
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------ setuptools


def test_setuptools_as_a_dependency_is_pinned_and_hashed_like_any_other_package(
    local_index, dists_dir, ftlock
):
    index = local_index()
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["setuptools>=60"]))
    setuptools = build_wheel(dists_dir, "setuptools", "70.0.0")
    index.add(setuptools)

    result = ftlock("solve", "app", index=index)

    assert result.exit_code == 0, result.stderr
    assert entry(result.lock, "setuptools==70.0.0") == [
        "setuptools==70.0.0 \\",
        f"    --hash=sha256:{sha256_file(setuptools)}",
        "    # via app",
    ]


# ------------------------------------------------------------------ the lock file


@pytest.fixture
def small_index(local_index, dists_dir):
    index = local_index()
    index.add(build_wheel(dists_dir, "zeta", "1.0", requires_dist=["Mid_Pkg"]))
    index.add(build_wheel(dists_dir, "mid-pkg", "1.0"))
    index.add(build_wheel(dists_dir, "Alpha", "1.0"))
    return index


def test_two_solves_write_byte_identical_locks(small_index, ftlock, tmp_path):
    out = tmp_path / "lock" / "out.txt"
    out.parent.mkdir()

    first = ftlock("solve", "zeta", "alpha", index=small_index, output=out)
    second = ftlock("solve", "zeta", "alpha", index=small_index, output=out)
    third = ftlock("solve", "zeta", "alpha", "--no-cache", index=small_index, output=out)

    assert first.exit_code == second.exit_code == third.exit_code == 0
    assert first.lock.encode() == second.lock.encode() == third.lock.encode()


def test_the_lock_is_sorted_by_normalised_name(small_index, ftlock):
    result = ftlock("solve", "zeta", "Alpha", index=small_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["alpha==1.0", "mid-pkg==1.0", "zeta==1.0"]
    assert entry(result.lock, "mid-pkg==1.0")[-1] == "    # via zeta"


def test_output_dash_writes_the_lock_to_stdout_and_the_summary_to_stderr(
    small_index, ftlock, tmp_path
):
    result = ftlock("solve", "alpha", "-o", "-", index=small_index)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("#\n# This file was generated by ftlock ")
    assert pins(result.stdout) == ["alpha==1.0"]
    assert result.stderr.startswith("Resolved 1 packages for CPython 3.11, linux_x86_64 in ")
    assert not (tmp_path / "out.txt").exists()


def test_the_header_records_command_target_and_exclude_newer_date(small_index, tmp_path):
    # A real process, so the command line is what a user typed.
    out = tmp_path / "lock.txt"
    recorded = [
        "solve", "alpha", "--index-url", small_index.url, "--python", "3.11",
        "--platform", "linux_x86_64", "--exclude-newer", "2024-06-01",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "ftlock", *recorded, "-o", str(out), "--cache-dir", str(tmp_path / "c")],
        capture_output=True, text=True, timeout=60, env=dict(os.environ),
    )

    assert proc.returncode == 0, proc.stderr
    header = [l for l in out.read_text().splitlines() if l.startswith("#")]
    assert header[0:2] == [
        "#",
        "# This file was generated by ftlock 0.1.0 for CPython 3.11, linux_x86_64.",
    ]
    assert header[2].startswith("# Command: ftlock " + shlex.join(recorded))
    assert header[3:5] == [
        f"# Indexes: {small_index.url}",
        "# Exclude newer than: 2024-06-01T00:00:00+00:00",
    ]


def test_the_header_records_the_command_when_invoked_in_process(small_index, ftlock):
    result = ftlock("solve", "alpha", index=small_index)

    assert result.exit_code == 0, result.stderr
    command = next(l for l in result.lock.splitlines() if l.startswith("# Command: "))
    assert command.startswith("# Command: ftlock solve alpha --index-url ")


def test_a_failed_solve_leaves_an_existing_output_untouched_and_no_temp_file(
    local_index, dists_dir, ftlock, tmp_path
):
    index = local_index()
    index.add(build_wheel(dists_dir, "a", "1.0", requires_dist=["c<2"]))
    index.add(build_wheel(dists_dir, "b", "1.0", requires_dist=["c>=2"]))
    index.add(build_wheel(dists_dir, "c", "1.0"))
    index.add(build_wheel(dists_dir, "c", "2.0"))
    lockdir = tmp_path / "lockdir"
    lockdir.mkdir()
    out = lockdir / "out.txt"
    out.write_text("previous lock\n")

    failed = ftlock("solve", "a", "b", index=index, output=out)

    assert failed.exit_code == 1
    assert out.read_text() == "previous lock\n"
    assert sorted(os.listdir(lockdir)) == ["out.txt"]

    succeeded = ftlock("solve", "a", index=index, output=out)

    assert succeeded.exit_code == 0, succeeded.stderr
    assert pins(out.read_text()) == ["a==1.0", "c==1.0"]
    assert sorted(os.listdir(lockdir)) == ["out.txt"]


def test_a_lock_that_cannot_be_written_leaves_no_temp_file(small_index, tmp_path):
    from click.testing import CliRunner

    from ftlock.cli import main

    lockdir = tmp_path / "lockdir"
    target = lockdir / "out.txt"
    target.mkdir(parents=True)  # a directory where the lock should go: the rename fails
    argv = [
        "solve", "alpha", "--index-url", small_index.url, "--python", "3.11",
        "--platform", "linux_x86_64", "--cache-dir", str(tmp_path / "cache"), "-o", str(target),
    ]

    result = CliRunner().invoke(main, argv, catch_exceptions=False)

    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: cannot write {target}: ")
    assert sorted(os.listdir(lockdir)) == ["out.txt"]
    assert os.listdir(target) == []


def test_a_preferred_version_is_kept_while_it_still_fits(local_index, dists_dir):
    """Re-locks and base environments prefer what is already there over the newest."""
    from ftlock.resolve.solve import SolveRequest, solve

    index = local_index()
    for version in ("1.0", "1.1", "2.0"):
        index.add(build_wheel(dists_dir, "lib", version))
    base = dict(index_url=index.url, no_cache=True, python="3.11", platform="linux_x86_64")

    kept = solve(SolveRequest(requirements=("lib",), preferred=(("lib", "1.1"),), **base))
    overruled = solve(SolveRequest(requirements=("lib>=2",), preferred=(("lib", "1.1"),), **base))

    assert [(p.name, p.version) for p in kept.packages] == [("lib", "1.1")]
    assert [(p.name, p.version) for p in overruled.packages] == [("lib", "2.0")]
