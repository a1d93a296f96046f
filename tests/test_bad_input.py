"""Specification: a battery of bad input.  Each case ends with exactly one ``error:`` line on
stderr, no traceback, exit code 2 for malformed input (flags, requirement strings, dates,
files) and 1 for an output that cannot be written — and the existing output file is left
untouched, with no temporary file beside it.

tests/test_errors.py holds the exact messages; this file is about breadth.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.dists import build_wheel
from tests.support.cli import error_line

PREVIOUS = "previous lock\n"


@pytest.fixture
def index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    idx = local_index()
    idx.add(build_wheel(dists_dir, "a", "1.0"))
    return idx


@pytest.fixture
def out(tmp_path: Path) -> Path:
    lockdir = tmp_path / "lockdir"
    lockdir.mkdir()
    path = lockdir / "out.txt"
    path.write_text(PREVIOUS)
    return path


def cli(*argv: str):  # type: ignore[no-untyped-def]
    """Exactly ``ftlock ARGV`` in-process: nothing added."""
    from ftlock.cli import main

    return CliRunner().invoke(main, list(argv), catch_exceptions=False)


def base_args(index, out: Path, tmp_path: Path) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        "--index-url", index.url, "--python", "3.11", "--platform", "linux_x86_64",
        "--cache-dir", str(tmp_path / "cache"), "-o", str(out),
    ]


def assert_one_error(result, exit_code: int, out: Path | None = None) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == exit_code, (result.exit_code, result.stderr)
    line = error_line(result)
    if out is not None:
        assert out.read_text() == PREVIOUS
        assert os.listdir(out.parent) == [out.name]
    return line


# --------------------------------------------------------------------------------------
# requirement strings
# --------------------------------------------------------------------------------------

MALFORMED_REQUIREMENTS = [
    "not a requirement!!",
    "a==",
    "a>=1,<",
    "a[extra",
    "a[extra]]",
    "a (>=1",
    "a<=>1",
    "a==1.0.*.*",
    "==1.0",
    "a @",
    "a ; python_version >",
    "a==1.0; os_name=='nt' and",
    "a; extra ==",
    "a b c",
    "naïve",
    "",
    "   ",
    "~=1",
    "a==1 --hash=sha256:00",
    "a @ http://[::1/a-1.0-py3-none-any.whl",
    "~no-such-user/a-1.0-py3-none-any.whl",
    "missing-1.0-py3-none-any.whl",
    "./no/such/dir/",
]


@pytest.mark.parametrize("requirement", MALFORMED_REQUIREMENTS)
def test_a_malformed_requirement_string_is_a_usage_error(index, out, tmp_path, requirement):
    result = cli("solve", requirement, *base_args(index, out, tmp_path))

    assert_one_error(result, 2, out)
    assert index.count() == 0


# --------------------------------------------------------------------------------------
# flags and their values
# --------------------------------------------------------------------------------------

BAD_FLAGS = [
    ["--frobnicate"],
    ["--retries", "-1"],
    ["--retries", "abc"],
    ["--retries", "1000"],
    ["--timeout", "0"],
    ["--timeout", "soon"],
    ["--concurrency", "0"],
    ["--page-ttl", "-1"],
    ["--prerelease", "sometimes"],
    ["--platform", "amiga_68k"],
    ["--python", "2.7"],
    ["--python", "three"],
    ["--index-url", "ftp://127.0.0.1/simple"],
    ["--index-url", "http://[::1/simple"],
    ["--index-url", "~no-such-user/simple"],
    ["--index-url", ""],
    ["-o", ""],
]


@pytest.mark.parametrize("flags", BAD_FLAGS, ids=lambda f: " ".join(f) or "empty")
def test_an_unknown_flag_or_a_bad_flag_value_is_a_usage_error(index, out, tmp_path, flags):
    result = cli("solve", "a", *base_args(index, out, tmp_path), *flags)

    assert_one_error(result, 2, out)
    assert index.count() == 0


@pytest.mark.parametrize("option", ["--python", "--index-url", "-r", "-o", "--exclude-newer"])
def test_an_option_missing_its_value_is_a_usage_error(option):
    result = cli("solve", "a", option)

    assert "requires an argument" in assert_one_error(result, 2)


def test_an_unknown_command_is_a_usage_error():
    assert "No such command" in assert_one_error(cli("sovle", "a"), 2)


@pytest.mark.parametrize(
    "date",
    ["yesterday", "2024-13-01", "2024-02-30", "", "2024-01-01T25:00", "01/02/2024", "2024-1-1", "10000-01-01"],
)
def test_an_invalid_date_is_a_usage_error(index, out, tmp_path, date):
    result = cli("solve", "a", *base_args(index, out, tmp_path), "--exclude-newer", date)

    line = assert_one_error(result, 2, out)
    assert "--exclude-newer" in line
    assert index.count() == 0


# --------------------------------------------------------------------------------------
# input files
# --------------------------------------------------------------------------------------


def _file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "requirements.txt"
    if kind == "missing":
        return tmp_path / "nope.txt"
    if kind == "directory":
        return tmp_path
    if kind == "binary":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    elif kind == "utf16":
        path.write_bytes("a\n".encode("utf-16"))
    elif kind == "latin1":
        path.write_bytes("a  # caf\u00e9\n".encode("latin-1"))
    elif kind == "includes-itself":
        path.write_text("a\n-r requirements.txt\n")
    elif kind == "includes-a-cycle":
        (tmp_path / "other.txt").write_text("-r requirements.txt\n")
        path.write_text("a\n-r other.txt\n")
    elif kind == "unclosed-quote":
        path.write_text('a\n-r "unterminated\n')
    elif kind == "option-without-value":
        path.write_text("a\n-r\n")
    elif kind == "editable":
        path.write_text("-e .\n")
    elif kind == "unknown-option":
        path.write_text("--frobnicate\na\n")
    elif kind == "invalid-line":
        path.write_text("a\nb c d\n")
    elif kind == "empty":
        path.write_text("# nothing\n\n")
    elif kind == "nested-missing":
        path.write_text("a\n-r sub/missing.txt\n")
    elif kind == "through-a-file":
        (tmp_path / "plain").write_text("a\n")
        return tmp_path / "plain" / "requirements.txt"
    else:  # pragma: no cover
        raise AssertionError(kind)
    return path


FILE_KINDS = [
    "missing", "directory", "binary", "utf16", "latin1", "includes-itself", "includes-a-cycle",
    "unclosed-quote", "option-without-value", "editable", "unknown-option", "invalid-line",
    "empty", "nested-missing", "through-a-file",
]


@pytest.mark.parametrize("kind", FILE_KINDS)
@pytest.mark.parametrize("flag", ["-r", "-c"])
def test_a_broken_requirements_or_constraints_file_is_a_usage_error(
    index, out, tmp_path, kind, flag
):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    bad = _file(inputs, kind)
    args = ["-r", str(bad)] if flag == "-r" else ["a", "-c", str(bad)]

    result = cli("solve", *args, *base_args(index, out, tmp_path))

    if flag == "-c" and kind == "empty":
        assert result.exit_code == 0, result.stderr  # an empty constraints file is fine
        return
    assert_one_error(result, 2, out)
    assert index.count() == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_requirements_file_is_a_usage_error(index, out, tmp_path):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("a\n")
    reqs.chmod(0)

    assert_one_error(cli("solve", "-r", str(reqs), *base_args(index, out, tmp_path)), 2, out)


def test_a_constraint_that_is_a_direct_reference_is_a_usage_error(index, out, tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("a @ file:///nowhere/a-1.0-py3-none-any.whl\n")

    result = cli("solve", "a", "-c", str(constraints), *base_args(index, out, tmp_path))

    assert "constraints cannot be direct references" in assert_one_error(result, 2, out)


# --------------------------------------------------------------------------------------
# output that cannot be written
# --------------------------------------------------------------------------------------


def test_an_output_that_is_a_directory_fails_with_one_line(index, tmp_path):
    target = tmp_path / "lockdir"
    target.mkdir()
    args = base_args(index, target, tmp_path)

    line = assert_one_error(cli("solve", "a", *args), 1)

    assert line.startswith(f"error: cannot write {target}: ")
    assert os.listdir(target) == []


@pytest.mark.parametrize("where", ["missing-dir", "under-a-file"])
def test_an_output_path_that_cannot_exist_fails_with_one_line(index, tmp_path, where):
    if where == "missing-dir":
        target = tmp_path / "no" / "such" / "lock.txt"
    else:
        (tmp_path / "plain").write_text("x\n")
        target = tmp_path / "plain" / "lock.txt"

    line = assert_one_error(cli("solve", "a", *base_args(index, target, tmp_path)), 1)

    assert line.startswith(f"error: cannot write {target}: ")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_fails_with_one_line(index, tmp_path):
    line = assert_one_error(cli("solve", "a", *base_args(index, Path("/dev/full"), tmp_path)), 1)

    assert line == "error: cannot write /dev/full: No space left on device"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_directory_fails_with_one_line_and_keeps_the_old_lock(index, out, tmp_path):
    out.parent.chmod(0o500)
    try:
        line = assert_one_error(cli("solve", "a", *base_args(index, out, tmp_path)), 1, out)
    finally:
        out.parent.chmod(0o700)

    assert line.startswith(f"error: cannot write {out}: ")


# --------------------------------------------------------------------------------------
# the real command line
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, code",
    [
        (["solve", "not a requirement!!"], 2),
        (["solve", "a", "--frobnicate"], 2),
        (["solve", "a", "--exclude-newer", "yesterday"], 2),
        (["solve", "-r", "/nonexistent/requirements.txt"], 2),
        (["solve", "a", "-o", "/nonexistent/dir/lock.txt"], 1),
    ],
    ids=["requirement", "flag", "date", "file", "output"],
)
def test_the_installed_command_prints_one_line_and_exits_with_the_code(index, tmp_path, argv, code):
    full = [*argv, "--index-url", index.url, "--python", "3.11", "--platform", "linux_x86_64"]
    full += ["--cache-dir", str(tmp_path / "cache")]
    result = subprocess.run(
        [sys.executable, "-m", "ftlock", *full], capture_output=True, text=True, timeout=120
    )

    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
