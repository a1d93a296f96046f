"""Specification: what a solve reads — requirements files, constraints files and direct
references (local wheels, source directories, git repositories)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.support.dists import BACKEND_LOG_ENV, SAFE_EXTRACT, build_sdist, build_wheel, sha256_file
from tests.support.locks import entry, pins


@pytest.fixture
def index(local_index, dists_dir):
    """a 1.0/2.0, b 1.0 (needs c), c 1.0/2.0."""
    idx = local_index()
    idx.add(build_wheel(dists_dir, "a", "1.0"))
    idx.add(build_wheel(dists_dir, "a", "2.0"))
    idx.add(build_wheel(dists_dir, "b", "1.0", requires_dist=["c"]))
    idx.add(build_wheel(dists_dir, "c", "1.0"))
    idx.add(build_wheel(dists_dir, "c", "2.0"))
    return idx


# ------------------------------------------------------------------ requirements files


def test_a_requirements_file_allows_comments_blank_lines_and_continuations(
    index, ftlock, tmp_path
):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(
        "# the app\n"
        "\n"
        "a>=1.0,\\\n"
        "<2.0   # stay on 1.x\n"
        "   \n"
        "b \\\n"
        "    ; python_version >= '3.8'\n"
    )

    result = ftlock("solve", "-r", str(reqs), index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==1.0", "b==1.0", "c==2.0"]


def test_file_inputs_are_annotated_via_dash_r_and_the_file(index, ftlock, tmp_path):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("b\nc\n")

    result = ftlock("solve", "-r", str(reqs), index=index)

    assert result.exit_code == 0, result.stderr
    assert entry(result.lock, "b==1.0")[-1] == f"    # via -r {reqs}"
    assert entry(result.lock, "c==2.0")[-3:] == ["    # via", "    #   b", f"    #   -r {reqs}"]


def test_a_nested_requirements_file_is_found_relative_to_the_file_that_includes_it(
    index, ftlock, tmp_path
):
    top = tmp_path / "project" / "requirements.txt"
    inner = tmp_path / "project" / "reqs" / "inner.txt"
    deeper = tmp_path / "project" / "reqs" / "deeper.txt"
    inner.parent.mkdir(parents=True)
    top.write_text("-r reqs/inner.txt\n")
    inner.write_text("--requirement=deeper.txt\na<2\n")
    deeper.write_text("b\n")

    result = ftlock("solve", "-r", str(top), index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==1.0", "b==1.0", "c==2.0"]
    assert entry(result.lock, "b==1.0")[-1] == f"    # via -r {deeper}"


def test_a_constraint_limits_versions_but_never_adds_a_package(index, ftlock, tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("c<2\na==1.0\n")

    result = ftlock("solve", "b", "-c", str(constraints), index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["b==1.0", "c==1.0"]


def test_a_constraints_file_included_from_a_requirements_file_constrains(
    index, ftlock, tmp_path
):
    (tmp_path / "constraints.txt").write_text("c==1.0\n")
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("-c constraints.txt\nb\n")

    result = ftlock("solve", "-r", str(reqs), index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["b==1.0", "c==1.0"]


def test_hash_options_on_requirement_lines_are_ignored_and_real_hashes_written(
    local_index, dists_dir, ftlock, tmp_path
):
    idx = local_index()
    wheel = build_wheel(dists_dir, "a", "1.0")
    idx.add(wheel)
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(
        "a==1.0 \\\n"
        "    --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000 \\\n"
        "    --hash=sha256:1111111111111111111111111111111111111111111111111111111111111111\n"
    )

    result = ftlock("solve", "-r", str(reqs), index=idx)

    assert result.exit_code == 0, result.stderr
    assert entry(result.lock, "a==1.0") == [
        "a==1.0 \\",
        f"    --hash=sha256:{sha256_file(wheel)}",
        f"    # via -r {reqs}",
    ]


def test_index_url_and_pre_options_in_a_requirements_file_are_honoured(
    index, dists_dir, ftlock, tmp_path
):
    index.add(build_wheel(dists_dir, "a", "3.0b1"))
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"--index-url {index.url}\n--pre\na\n")

    result = ftlock("solve", "-r", str(reqs))  # no --index-url on the command line

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==3.0b1"]
    assert f"--index-url {index.url}" in result.lock.splitlines()


def test_a_requirement_skipped_by_its_marker_does_not_shift_the_via_of_file_inputs(
    index, ftlock, tmp_path
):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("b\n")

    result = ftlock("solve", 'a; sys_platform == "win32"', "-r", str(reqs), index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["b==1.0", "c==2.0"]
    assert entry(result.lock, "b==1.0")[-1] == f"    # via -r {reqs}"


# ------------------------------------------------------------------ direct references


@pytest.fixture
def local_wheel(local_index, dists_dir, tmp_path):
    """A wheel outside the index that needs ``c<2`` from the index."""
    idx = local_index()
    idx.add(build_wheel(dists_dir, "c", "1.0"))
    idx.add(build_wheel(dists_dir, "c", "2.0"))
    wheel = build_wheel(tmp_path / "local", "mine", "0.3", requires_dist=["c<2"])
    return idx, wheel


def test_a_named_file_url_to_a_wheel_is_locked_with_its_hash_and_index_dependencies(
    local_wheel, ftlock
):
    idx, wheel = local_wheel

    result = ftlock("solve", f"mine @ {wheel.as_uri()}", "--retries", "0", index=idx)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["c==1.0", f"mine @ {wheel.as_uri()}"]
    assert entry(result.lock, f"mine @ {wheel.as_uri()}") == [
        f"mine @ {wheel.as_uri()} \\",
        f"    --hash=sha256:{sha256_file(wheel)}",
        "    # via requested",
    ]


def test_a_bare_path_to_a_wheel_is_locked_as_a_file_url_with_its_hash(local_wheel, ftlock):
    idx, wheel = local_wheel

    result = ftlock("solve", str(wheel), index=idx)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["c==1.0", f"mine @ {wheel.as_uri()}"]
    assert entry(result.lock, f"mine @ {wheel.as_uri()}")[:2] == [
        f"mine @ {wheel.as_uri()} \\",
        f"    --hash=sha256:{sha256_file(wheel)}",
    ]
    assert entry(result.lock, "c==1.0")[-1] == "    # via mine"


def test_a_relative_path_on_the_command_line_is_relative_to_the_working_directory(
    local_wheel, ftlock, tmp_path, monkeypatch
):
    idx, wheel = local_wheel
    monkeypatch.chdir(tmp_path)

    result = ftlock("solve", f"./local/{wheel.name}", index=idx)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["c==1.0", f"mine @ {wheel.as_uri()}"]


def test_a_bare_path_to_an_sdist_with_static_metadata_is_locked_with_its_hash(
    local_wheel, ftlock, tmp_path
):
    idx, _ = local_wheel
    sdist = build_sdist(tmp_path / "local", "srcdist", "1.2", requires_dist=["c<2"])

    result = ftlock("solve", str(sdist), "--no-build", index=idx)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["c==1.0", f"srcdist @ {sdist.as_uri()}"]
    assert entry(result.lock, f"srcdist @ {sdist.as_uri()}")[1] == (
        f"    --hash=sha256:{sha256_file(sdist)}"
    )


def test_a_relative_path_in_a_requirements_file_is_relative_to_that_file(
    local_wheel, ftlock, tmp_path
):
    idx, wheel = local_wheel
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"./local/{wheel.name}\n")

    result = ftlock("solve", "-r", str(reqs), index=idx)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["c==1.0", f"mine @ {wheel.as_uri()}"]


def test_a_direct_reference_satisfies_a_dependency_on_the_same_project(
    local_index, dists_dir, ftlock, tmp_path
):
    idx = local_index()
    idx.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["mine>=0.1"]))
    idx.add(build_wheel(dists_dir, "mine", "9.0"))
    wheel = build_wheel(tmp_path / "local", "mine", "0.3")

    result = ftlock("solve", "app", str(wheel), index=idx)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", f"mine @ {wheel.as_uri()}"]


def _source_tree(tmp_path: Path, name: str, version: str, requires_dist: list[str]) -> Path:
    """An unpacked source tree with the stdlib-only in-tree PEP 517 backend."""
    sdist = build_sdist(
        tmp_path / "sdists", name, version, requires_dist=requires_dist, pep517_backend=True
    )
    with tarfile.open(sdist) as tf:
        tf.extractall(tmp_path / "src", **SAFE_EXTRACT)
    (tree,) = (tmp_path / "src").iterdir()
    return tree


def test_a_local_source_directory_is_built_for_metadata_and_locked(
    local_wheel, ftlock, tmp_path, monkeypatch
):
    idx, _ = local_wheel
    tree = _source_tree(tmp_path, "srcpkg", "0.1", ["c<2"])
    hooks = tmp_path / "hooks.log"
    monkeypatch.setenv(BACKEND_LOG_ENV, str(hooks))

    result = ftlock("solve", str(tree), index=idx)

    assert result.exit_code == 0, result.stderr
    assert "prepare_metadata_for_build_wheel srcpkg 0.1" in hooks.read_text().splitlines()
    assert pins(result.lock) == ["c==1.0", f"srcpkg @ {tree.as_uri()}"]
    assert entry(result.lock, "c==1.0")[-1] == "    # via srcpkg"


def _git_repo(tmp_path: Path, name: str, version: str, requires_dist: list[str]):
    """A git repository holding a source tree; returns (repo, git) where git runs commands."""
    repo = _source_tree(tmp_path, name, version, requires_dist)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            check=True, capture_output=True, text=True,
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "init")
    return repo, git


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")
def test_a_git_file_url_is_locked_at_the_resolved_commit(local_wheel, ftlock, tmp_path):
    idx, _ = local_wheel
    repo, git = _git_repo(tmp_path, "gitpkg", "0.2", ["c<2"])
    commit = git("rev-parse", "HEAD")
    assert re.fullmatch(r"[0-9a-f]{40}", commit)

    result = ftlock("solve", f"gitpkg @ git+{repo.as_uri()}", index=idx)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["c==1.0", f"gitpkg @ git+{repo.as_uri()}@{commit}"]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")
def test_a_git_url_with_a_revision_is_locked_at_that_revisions_commit(
    local_wheel, ftlock, tmp_path
):
    idx, _ = local_wheel
    repo, git = _git_repo(tmp_path, "gitpkg", "0.2", ["c<2"])
    first = git("rev-parse", "HEAD")
    git("tag", "v0.2")
    (repo / "NEWS").write_text("later work\n")
    git("add", "NEWS")
    git("commit", "-q", "-m", "later")
    assert git("rev-parse", "HEAD") != first

    result = ftlock("solve", f"gitpkg @ git+{repo.as_uri()}@v0.2", index=idx)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["c==1.0", f"gitpkg @ git+{repo.as_uri()}@{first}"]
