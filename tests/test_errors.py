"""Specification: what a user sees when the input is wrong or cannot be satisfied —
one ``error:`` line, no traceback, exit 2 for malformed input and 1 for the rest."""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import tarfile

import pytest

from tests.support.dists import SAFE_EXTRACT, build_sdist, build_wheel
from tests.support.cli import error_line


@pytest.fixture
def index(local_index, dists_dir):
    idx = local_index()
    idx.add(build_wheel(dists_dir, "a", "1.0"))
    idx.add(build_wheel(dists_dir, "top", "1.0", requires_dist=["ghost-dep"]))
    return idx


# ------------------------------------------------------------------ missing projects


def test_an_unknown_project_fails_with_one_line_naming_it(index, ftlock):
    result = ftlock("solve", "a", "no-such-project", index=index)

    assert result.exit_code == 1
    assert result.lock is None
    line = error_line(result)
    assert line == (
        f"error: no project named 'no-such-project' on the configured index(es): {index.url}"
    )


def test_an_unknown_transitive_dependency_fails_with_one_line_naming_it(index, ftlock):
    result = ftlock("solve", "top", index=index)

    assert result.exit_code == 1
    assert "'ghost-dep'" in error_line(result)


def test_a_version_that_does_not_exist_lists_the_versions_that_do(index, ftlock):
    result = ftlock("solve", "a==2", index=index)

    assert result.exit_code == 1
    assert error_line(result) == (
        "error: cannot solve: no version of a satisfies: you requested a==2 "
        "(versions for CPython 3.11, linux_x86_64: 1.0)"
    )


# ------------------------------------------------------------------ malformed input


def test_an_invalid_requirement_is_a_usage_error_on_one_line(index, ftlock):
    result = ftlock("solve", "not a requirement!!", index=index)

    assert result.exit_code == 2
    line = error_line(result)
    assert line.startswith("error: invalid requirement 'not a requirement!!'")
    assert index.count() == 0


def test_an_invalid_requirement_in_a_file_names_the_file(index, ftlock, tmp_path):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("a\nnot a requirement!!\n")

    result = ftlock("solve", "-r", str(reqs), index=index)

    assert result.exit_code == 2
    line = error_line(result)
    assert line.startswith(f"error: -r {reqs}: invalid requirement 'not a requirement!!'")


def test_an_unknown_platform_is_a_usage_error(index, ftlock):
    result = ftlock("solve", "a", "--platform", "amiga_68k", index=index)

    assert result.exit_code == 2
    assert error_line(result).startswith("error: --platform 'amiga_68k': unknown platform")
    assert index.count() == 0


@pytest.mark.parametrize("python", ["three.eleven", "3", "2.7", "3.11.x"])
def test_a_malformed_python_version_is_a_usage_error(index, ftlock, python):
    result = ftlock("solve", "a", "--python", python, index=index)

    assert result.exit_code == 2
    assert error_line(result).startswith("error: --python ")
    assert index.count() == 0


def test_an_unreachable_index_fails_with_one_line(ftlock):
    result = ftlock(
        "solve", "a", "--index-url", "http://127.0.0.1:9/simple", "--retries", "0",
        "--timeout", "5",
    )

    assert result.exit_code == 1
    assert result.lock is None
    assert error_line(result).startswith("error: cannot reach http://127.0.0.1:9/simple/a/")


def test_an_index_url_with_an_unsupported_scheme_is_a_usage_error(ftlock):
    result = ftlock("solve", "a", "--index-url", "ftp://127.0.0.1/simple")

    assert result.exit_code == 2
    assert error_line(result) == (
        "error: index URL 'ftp://127.0.0.1/simple': only http, https and file URLs are supported"
    )


def test_nothing_to_solve_is_a_usage_error(index, ftlock, tmp_path):
    empty = tmp_path / "requirements.txt"
    empty.write_text("# nothing here\n\n")

    result = ftlock("solve", "-r", str(empty), index=index)

    assert result.exit_code == 2
    assert error_line(result).startswith("error: nothing to solve")


# ------------------------------------------------------------------ requirements files


def test_a_requirements_file_that_includes_itself_is_rejected(index, ftlock, tmp_path):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("a\n-r requirements.txt\n")

    result = ftlock("solve", "-r", str(reqs), index=index)

    assert result.exit_code == 2
    assert "include each other" in error_line(result)
    assert index.count() == 0


def test_requirements_files_that_include_each_other_are_rejected(index, ftlock, tmp_path):
    first = tmp_path / "one.txt"
    second = tmp_path / "two.txt"
    first.write_text("-r two.txt\n")
    second.write_text("a\n-r one.txt\n")

    result = ftlock("solve", "-r", str(first), index=index)

    assert result.exit_code == 2
    line = error_line(result)
    assert "include each other" in line
    assert str(first) in line and str(second) in line


def test_a_missing_requirements_file_is_a_usage_error(index, ftlock, tmp_path):
    missing = tmp_path / "nope.txt"

    result = ftlock("solve", "-r", str(missing), index=index)

    assert result.exit_code == 2
    assert error_line(result) == f"error: {missing}: no such file"


def test_a_missing_nested_requirements_file_is_a_usage_error(index, ftlock, tmp_path):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("a\n-r sub/nope.txt\n")

    result = ftlock("solve", "-r", str(reqs), index=index)

    assert result.exit_code == 2
    assert error_line(result) == f"error: {tmp_path / 'sub' / 'nope.txt'}: no such file"


def test_a_requirements_path_through_a_regular_file_is_a_usage_error(index, ftlock, tmp_path):
    (tmp_path / "file.txt").write_text("a\n")
    reqs = tmp_path / "file.txt" / "requirements.txt"

    result = ftlock("solve", "-r", str(reqs), index=index)

    assert result.exit_code == 2
    assert error_line(result) == f"error: {reqs}: cannot read (Not a directory)"


def unreadable_file(tmp_path: Path) -> Path:
    """A file whose read fails: mode 000 for a normal user; root reads any file, so for
    root a file the kernel refuses to read from its start (EIO) stands in."""
    if os.geteuid() == 0:
        return Path("/proc/self/mem")
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("a\n")
    reqs.chmod(0)
    return reqs


def test_an_unreadable_requirements_file_is_a_usage_error(index, ftlock, tmp_path):
    reqs = unreadable_file(tmp_path)

    result = ftlock("solve", "-r", str(reqs), index=index)

    assert result.exit_code == 2
    assert error_line(result).startswith(f"error: {reqs}: cannot read")


def test_a_directory_given_as_requirements_file_is_a_usage_error(index, ftlock, tmp_path):
    result = ftlock("solve", "-r", str(tmp_path), index=index)

    assert result.exit_code == 2
    assert error_line(result).startswith(f"error: {tmp_path}: ")


def test_a_binary_requirements_file_is_a_usage_error(index, ftlock, tmp_path):
    binary = tmp_path / "requirements.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    result = ftlock("solve", "-r", str(binary), index=index)

    assert result.exit_code == 2
    assert error_line(result) == f"error: {binary}: binary file, not a requirements file"


def test_a_requirements_file_that_is_not_utf8_is_a_usage_error(index, ftlock, tmp_path):
    latin1 = tmp_path / "requirements.txt"
    latin1.write_bytes("a  # caf\u00e9\n".encode("latin-1"))

    result = ftlock("solve", "-r", str(latin1), index=index)

    assert result.exit_code == 2
    assert error_line(result) == f"error: {latin1}: not UTF-8 text"


def test_a_missing_constraints_file_is_a_usage_error(index, ftlock, tmp_path):
    missing = tmp_path / "constraints.txt"

    result = ftlock("solve", "a", "-c", str(missing), index=index)

    assert result.exit_code == 2
    assert error_line(result) == f"error: {missing}: no such file"


def test_an_unsupported_option_in_a_requirements_file_names_the_line(index, ftlock, tmp_path):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("a\n--frobnicate\n")

    result = ftlock("solve", "-r", str(reqs), index=index)

    assert result.exit_code == 2
    assert error_line(result) == f"error: {reqs}:2: unsupported option '--frobnicate'"


def test_a_local_path_that_does_not_exist_is_a_usage_error(index, ftlock, tmp_path):
    missing = tmp_path / "gone-1.0-py3-none-any.whl"

    result = ftlock("solve", str(missing), index=index)

    assert result.exit_code == 2
    assert "neither a requirement nor an existing path" in error_line(result)


def test_a_direct_reference_whose_name_is_another_project_is_a_usage_error(
    index, ftlock, tmp_path
):
    sdist = build_sdist(tmp_path / "sdists", "mine", "0.3", pep517_backend=True)
    with tarfile.open(sdist) as tf:
        tf.extractall(tmp_path / "src", **SAFE_EXTRACT)
    tree = tmp_path / "src" / "mine-0.3"

    result = ftlock("solve", f"other @ {tree.as_uri()}", index=index)

    assert result.exit_code == 2
    assert error_line(result).endswith(": the file is the project 'mine'")


def test_a_corrupt_local_wheel_fails_with_one_line(index, ftlock, tmp_path):
    broken = tmp_path / "broken-1.0-py3-none-any.whl"
    broken.write_bytes(b"this is not a zip archive")

    result = ftlock("solve", str(broken), index=index)

    assert result.exit_code == 1
    line = error_line(result)
    assert "broken-1.0-py3-none-any.whl" in line
    assert "not a valid wheel" in line


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")
def test_a_git_url_of_a_missing_repository_fails_with_one_line(index, ftlock, tmp_path):
    missing = tmp_path / "no-repo"

    result = ftlock("solve", f"pkg @ git+{missing.as_uri()}", index=index)

    assert result.exit_code == 1
    line = error_line(result)
    assert line.startswith(f"error: git+{missing.as_uri()}: git clone: ")


def test_an_output_path_in_a_missing_directory_fails_with_one_line(index, ftlock, tmp_path):
    out = tmp_path / "no" / "such" / "dir" / "lock.txt"

    result = ftlock("solve", "a", index=index, output=out)

    assert result.exit_code == 1
    assert error_line(result).startswith(f"error: cannot write {out}: ")
    assert not out.parent.exists()


# ------------------------------------------------------------------ unsatisfiable


def test_a_constraint_that_excludes_the_requested_version_fails_naming_both(
    index, ftlock, tmp_path
):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("a<1\n")

    result = ftlock("solve", "a", "-c", str(constraints), index=index)

    assert result.exit_code == 1
    line = error_line(result)
    assert line.startswith("error: cannot solve: ")
    assert "a<1" in line
