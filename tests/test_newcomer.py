"""Specification: a newcomer's path — install, first lock, first install — has no surprise.

pip's constraint setting shapes the lock as it shapes ``pip install`` of it; the lock names
only the indexes that supplied it; ``--gpu auto`` fails instead of locking for no GPU; the
assumed platform is said; a freeze without ``--all`` is read for what it is; a long input
is solved in linear time, with a sign of life in a log; CI builds and runs the package.
"""

from __future__ import annotations

import os
import re
import stat
import threading
from pathlib import Path

import pytest

from ftlock.cli.progress import LogProgress
from ftlock.resolve.candidates import Requirement
from ftlock.resolve.collapse import SEPARATE_UP_TO, collapse
from tests.support.dists import build_wheel
from tests.support.locks import pinned as pins

ROOT = Path(__file__).resolve().parent.parent


def header(lock: str, key: str) -> list[str]:
    return [l for l in lock.splitlines() if l.startswith(f"# {key}")]


@pytest.fixture
def pip_conf(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """``pip_conf(text)``: this machine's pip configuration is ``text`` (and nothing else)."""
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "no-global-config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)

    def write(text: str) -> Path:
        path = tmp_path / "pip.conf"
        path.write_text(text)
        monkeypatch.setenv("PIP_CONFIG_FILE", str(path))
        return path

    return write


@pytest.fixture
def alpha_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    index = local_index()
    for version in ("1.0", "2.0"):
        index.add(build_wheel(dists_dir, "alpha", version))
    return index


def file_index(root: Path, dists: list[Path]) -> str:
    """A PEP 503 directory index of ``dists`` under ``root``, as a ``file://`` URL."""
    from packaging.utils import canonicalize_name, parse_wheel_filename

    for dist in dists:
        project = root / "simple" / canonicalize_name(parse_wheel_filename(dist.name)[0])
        project.mkdir(parents=True, exist_ok=True)
        (project / dist.name).write_bytes(dist.read_bytes())
        links = "".join(f'<a href="{p.name}">{p.name}</a>\n' for p in sorted(project.glob("*.whl")))
        (project / "index.html").write_text(f"<html><body>\n{links}</body></html>\n")
    (root / "simple").mkdir(parents=True, exist_ok=True)
    return (root / "simple").as_uri()


# -- 1. pip's constraint setting ----------------------------------------------------------------


def test_a_constraint_in_pip_configuration_shapes_the_lock_and_is_named_where_a_reader_looks(
    alpha_index, pip_conf, ftlock, tmp_path
):
    # the acceptance: a machine whose pip configuration has a constraint and a file:// extra
    # index; the lock must install there, and name neither path as a source of packages
    constraints = tmp_path / "machine-constraints.txt"
    constraints.write_text("# this machine's cap\nalpha<2\n")
    empty = file_index(tmp_path / "machine-mirror", [])
    conf = pip_conf(f"[global]\nconstraint = {constraints}\nextra-index-url = {empty}\n")

    result = ftlock("solve", "alpha", index=alpha_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["alpha==1.0"]
    assert header(result.lock, "Indexes:") == [f"# Indexes: {alpha_index.url}"]
    assert header(result.lock, "Constraints from pip") == [
        "# Constraints from pip's configuration (applied as -c, as pip install applies them): "
        f"{constraints} (global.constraint in {conf})"
    ]
    assert "machine-mirror" not in result.lock
    assert (
        f"note: pip's configuration constrains this solve, as it constrains pip install: -c {constraints} "
        f"(global.constraint in {conf}); --isolated ignores pip's configuration"
    ) in result.stderr.splitlines()


def test_pip_constraint_in_the_environment_wins_over_the_configuration_files(
    alpha_index, pip_conf, ftlock, tmp_path, monkeypatch
):
    (tmp_path / "config-cap.txt").write_text("alpha<1\n")  # would leave nothing
    (tmp_path / "env-cap.txt").write_text("alpha<2\n")
    pip_conf(f"[install]\nconstraint = {tmp_path / 'config-cap.txt'}\n")
    monkeypatch.setenv("PIP_CONSTRAINT", str(tmp_path / "env-cap.txt"))

    result = ftlock("solve", "alpha", index=alpha_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["alpha==1.0"]
    assert header(result.lock, "Constraints from pip") == [
        "# Constraints from pip's configuration (applied as -c, as pip install applies them): "
        f"{tmp_path / 'env-cap.txt'} (PIP_CONSTRAINT)"
    ]


def test_isolated_ignores_pip_configuration_and_pip_variables(alpha_index, pip_conf, ftlock, tmp_path, monkeypatch):
    (tmp_path / "cap.txt").write_text("alpha<2\n")
    pip_conf(f"[global]\nconstraint = {tmp_path / 'cap.txt'}\nindex-url = http://127.0.0.1:9/nothing\n")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "http://127.0.0.1:9/nothing-either")

    result = ftlock("solve", "alpha", "--isolated", index=alpha_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["alpha==2.0"]
    assert header(result.lock, "Constraints from pip") == []
    assert " --isolated " in header(result.lock, "Command:")[0]
    assert "pip's configuration" not in result.stderr


def test_a_constraint_file_pip_configuration_names_but_that_is_missing_is_one_error_line(
    alpha_index, pip_conf, ftlock, tmp_path
):
    conf = pip_conf(f"[global]\nconstraint = {tmp_path / 'gone.txt'}\n")

    result = ftlock("solve", "alpha", index=alpha_index)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: pip's configuration (global.constraint in {conf}) names the constraints file "
        f"{tmp_path / 'gone.txt'}, which does not exist (pip install would fail on it too); fix it, "
        "or pass --isolated to ignore pip's configuration"
    ]
    assert result.lock is None


def test_team_locks_honour_pip_constraints_too_and_lock_isolated_does_not(alpha_index, pip_conf, ftlock, tmp_path):
    (tmp_path / "cap.txt").write_text("alpha<2\n")
    pip_conf(f"[global]\nconstraint = {tmp_path / 'cap.txt'}\n")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[tool.ftlock]\nrequirements = ["alpha"]\nindex-url = "{alpha_index.url}"\n'
        'python = "3.11"\nplatform = "linux_x86_64"\n'
    )
    config = ["--config", str(project / "pyproject.toml"), "--cache-dir", str(tmp_path / "c")]

    capped = ftlock("lock", *config)

    assert capped.exit_code == 0, capped.stderr
    assert pins((project / "requirements.txt").read_text()) == ["alpha==1.0"]
    assert any(l.startswith("note: default: pip's configuration constrains this solve") for l in capped.stderr.splitlines())

    free = ftlock("lock", "--isolated", "--upgrade", *config)  # (a re-lock keeps pins that fit)

    assert free.exit_code == 0, free.stderr
    assert pins((project / "requirements.txt").read_text()) == ["alpha==2.0"]
    assert header((project / "requirements.txt").read_text(), "Constraints from pip") == []


# -- 2. indexes named in the header ------------------------------------------------------------------


def test_the_header_names_only_indexes_that_supplied_a_package_and_marks_a_local_one(
    local_index, dists_dir, ftlock, tmp_path
):
    served = local_index()
    served.add(build_wheel(dists_dir, "alpha", "1.0", requires_dist=["beta"]))
    unused = local_index()
    unused.add(build_wheel(dists_dir, "gamma", "1.0"))
    local = file_index(tmp_path / "mirror", [build_wheel(dists_dir, "beta", "1.0")])

    result = ftlock(
        "solve", "alpha", "--extra-index-url", unused.url, "--extra-index-url", local, index=served
    )

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["alpha==1.0", "beta==1.0"]
    assert header(result.lock, "Indexes:") == [
        f"# Indexes: {served.url}, {local} (local: a directory on the machine that made this lock)"
    ]
    index_lines = [l for l in result.lock.splitlines() if l.startswith("--")]
    assert index_lines == [f"--index-url {served.url}", f"--extra-index-url {local}"]


# -- 3. --gpu auto ---------------------------------------------------------------------------------


def _nvidia_smi(bin_dir: Path, output: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "nvidia-smi"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_gpu_auto_locks_for_this_machines_gpu_and_driver(alpha_index, ftlock, tmp_path, monkeypatch):
    _nvidia_smi(tmp_path / "bin", "NVIDIA A100-SXM4-80GB, 535.104.05, 8.0")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")

    result = ftlock("solve", "alpha", "--gpu", "auto", index=alpha_index)

    assert result.exit_code == 0, result.stderr
    assert header(result.lock, "GPU:") == ["# GPU: NVIDIA A100 (ampere, compute capability 8.0, sm80) --gpu a100"]
    assert header(result.lock, "CUDA:")[0].startswith("# CUDA: driver 535.104.05")
    assert (
        "note: --gpu auto: this machine's NVIDIA A100-SXM4-80GB, driver 535.104.05: --gpu a100 --cuda-driver 535.104.05"
        in result.stderr.splitlines()
    )


def test_gpu_auto_without_an_nvidia_driver_fails_in_one_line_and_writes_nothing(alpha_index, ftlock, tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    result = ftlock("solve", "alpha", "--gpu", "auto", index=alpha_index)

    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: --gpu auto: nvidia-smi not found on PATH")
    assert result.lock is None


def test_gpu_auto_refuses_a_machine_with_different_gpus(alpha_index, ftlock, tmp_path, monkeypatch):
    _nvidia_smi(tmp_path / "bin", "NVIDIA A100-SXM4-80GB, 535.104.05, 8.0\nTesla T4, 535.104.05, 7.5")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")

    result = ftlock("solve", "alpha", "--gpu", "auto", index=alpha_index)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: --gpu auto: this machine has different GPUs (NVIDIA A100-SXM4-80GB, Tesla T4); "
        "pass --gpu NAME for the one you train on (`ftlock probe` prints each)"
    ]


def test_the_readme_never_puts_probe_inside_the_solve_command():
    readme = (ROOT / "README.md").read_text()

    assert "$(ftlock probe) " not in readme.replace("flags=$(ftlock probe) &&", "")


# -- 9. the platform assumed -------------------------------------------------------------------------


def test_without_platform_stderr_says_which_platform_was_assumed(alpha_index, tmp_path):
    from click.testing import CliRunner

    from ftlock.cli import main
    from ftlock.resolve.target import Target

    assumed = Target.from_options("3.11", None).platform.name
    result = CliRunner().invoke(
        main, ["solve", "alpha", "--python", "3.11", "--index-url", alpha_index.url, "--no-cache"],
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.stderr
    notes = [l for l in result.stderr.splitlines() if l.startswith("note: no --platform given")]
    assert len(notes) == 1
    assert f"locked for this machine's platform, {assumed}" in notes[0]
    if re.fullmatch(r"manylinux_2_(\d+)_x86_64", assumed) and int(assumed.split("_")[2]) > 28:
        assert notes[0].endswith(
            "--platform linux_x86_64 (manylinux_2_28) widens it to machines with glibc 2.28 or newer"
        )


# -- 5. a freeze without --all ------------------------------------------------------------------------


@pytest.fixture
def tool_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    """tool 1.0 needs setuptools; datasets 2.0 is what a user asks for."""
    index = local_index()
    index.add(build_wheel(dists_dir, "tool", "1.0", requires_dist=["setuptools>=40"]))
    index.add(build_wheel(dists_dir, "setuptools", "80.0"))
    index.add(build_wheel(dists_dir, "datasets", "2.0"))
    return index


def test_solve_on_a_freeze_without_all_does_not_add_the_setuptools_it_left_out(tool_index, ftlock, tmp_path):
    freeze = tmp_path / "base.txt"
    freeze.write_text("tool==1.0\n")  # what `pip freeze` prints: no pip, setuptools, wheel

    result = ftlock("solve", "--base", str(freeze), "datasets", index=tool_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["datasets==2.0"]
    assert (
        "warning: setuptools is not in the freeze, so its installed version is unknown; not checked: "
        "tool 1.0 requires setuptools>=40 (`pip freeze` lists pip, setuptools and wheel only with "
        "--all; use `pip freeze --all`)"
    ) in result.stderr.splitlines()


def test_solve_on_a_freeze_with_all_still_adds_a_setuptools_that_is_really_missing(tool_index, ftlock, tmp_path):
    freeze = tmp_path / "base.txt"
    freeze.write_text("pip==25.0\ntool==1.0\n")  # `pip freeze --all`: pip listed, setuptools absent

    result = ftlock("solve", "--base", str(freeze), "datasets", index=tool_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["datasets==2.0", "setuptools==80.0"]


def test_check_of_a_freeze_without_all_reports_setuptools_as_unknown_not_missing(tool_index, ftlock, tmp_path):
    freeze = tmp_path / "base.txt"
    freeze.write_text("tool==1.0\n")

    result = ftlock("check", str(freeze), "--complete", "--index-url", tool_index.url, "--cache-dir", str(tmp_path / "c"))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "not installed" not in result.stdout + result.stderr
    assert (
        "note: setuptools is not in the freeze, so its installed version is unknown; not checked: "
        "tool 1.0 requires setuptools>=40 (`pip freeze` lists pip, setuptools and wheel only with "
        "--all; use `pip freeze --all`)"
    ) in result.stderr.splitlines()


# -- 10. long inputs -------------------------------------------------------------------------------


def test_ten_thousand_requirements_on_one_project_reach_the_solver_as_one():
    lines = [Requirement.parse(f"alpha>=0.{i}") for i in range(10_000)]
    lines += [Requirement.parse("beta")] * 10_000

    merged = collapse(lines)

    assert [r.identifier for r in merged] == ["alpha", "beta"]
    assert merged[0].specifier.contains("1.0") and not merged[0].specifier.contains("0.9998")
    assert merged[0].describe() == "alpha>=0.0 and 9,999 more requirements on alpha"


def test_a_few_requirements_on_one_project_stay_apart_so_a_conflict_quotes_each():
    lines = [Requirement.parse(t) for t in ("a>=2", "a<2", "a>=2")]

    assert [r.describe() for r in collapse(lines)] == ["a>=2", "a<2"]
    assert len(collapse([Requirement.parse(f"a!=0.{i}") for i in range(SEPARATE_UP_TO)])) == SEPARATE_UP_TO


def test_thousands_of_command_line_requirements_lock_with_every_origin(alpha_index, ftlock, tmp_path):
    reqs = tmp_path / "many.txt"
    reqs.write_text("".join(f"alpha>=0.{i}\n" for i in range(3000)))

    result = ftlock("solve", *[f"alpha!=0.{i}" for i in range(3000)], "-r", str(reqs), index=alpha_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["alpha==2.0"]
    assert result.lock.splitlines()[-3:] == ["    # via", f"    #   -r {reqs}", "    #   requested"]


def test_a_solve_in_a_log_prints_a_progress_line_every_few_seconds_and_none_when_quick():
    lines: list[str] = []
    ticks = threading.Event()

    def write(line: str) -> None:
        lines.append(line)
        ticks.set()

    with LogProgress(write, interval=0.05) as progress:
        progress(3, "torch")
        assert ticks.wait(5)
    assert lines[0].startswith("Resolving… ") and lines[0].endswith("s, 3 pinned, now torch")

    with LogProgress(lines.append, interval=60) as quick:
        quick(1, "alpha")
    assert quick.lines == 0


def test_progress_lines_go_to_a_log_file_or_pipe_never_to_an_in_memory_stream(tmp_path):
    import io

    from ftlock.cli.progress import is_log

    with open(tmp_path / "build.log", "w") as log:
        assert is_log(log)
    assert not is_log(io.StringIO())


# -- 4, 7, 11. installing, testing, the README set-up -------------------------------------------------


def test_ci_runs_the_readme_test_command_then_builds_and_runs_the_wheel():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    command = next(l.strip() for l in readme.splitlines() if "python -m pytest" in l and l.startswith("    "))

    first = next(i for i, l in enumerate(ci) if l.startswith(command))
    assert ci[first] == command + " || exit $?"  # a failing step, or pytest's 5, stops CI
    later = "\n".join(ci[first + 1:])
    assert ".venv/bin/python -m build --outdir" in later
    assert re.search(r'venv/bin/pip" install -q "\$work/dist"/ftlock-\*\.whl', later)
    assert '"$work/venv/bin/ftlock" --version' in later


def test_the_readme_set_up_writes_its_example_lock_outside_the_checkout():
    readme = (ROOT / "README.md").read_text()
    setup = next(l for l in readme.splitlines() if "ftlock solve requests rich" in l)

    assert re.search(r"-o /tmp/\S+\.txt$", setup.strip())
