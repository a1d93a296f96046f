"""Specification: solving on top of an existing environment (a Colab image's pip freeze)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.dists import build_wheel
from tests.support.locks import pinned as pins

COLAB = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "colab" / "2025-06-25-cpu.txt"

# Requires-Dist as published for these releases (recorded from the real metadata; only the
# part that matters here)
RECORDED = [
    ("datasets", "2.14.4", ["fsspec[http]>=2021.11.1"]),
    ("datasets", "3.6.0", ["fsspec[http]>=2023.1.0,<=2025.3.0"]),
    ("gcsfs", "2025.3.0", ["fsspec==2025.3.0"]),
    ("gcsfs", "2025.3.2", ["fsspec==2025.3.2"]),
    ("fsspec", "2025.3.0", []),
    ("fsspec", "2025.3.2", []),
    ("peft", "0.15.2", []),
    ("trl", "0.19.0", []),
]


@pytest.fixture
def colab_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    if not COLAB.exists():
        pytest.skip("../shared/fixtures/colab is not beside this checkout")
    index = local_index()
    for name, version, requires in RECORDED:
        index.add(build_wheel(dists_dir, name, version, requires_dist=requires, provides_extra=["http"]))
    return index


def test_a_request_on_a_colab_base_changes_exactly_what_it_must_and_says_why(colab_index, ftlock):
    result = ftlock("solve", "--base", str(COLAB), "datasets==3.6.0", index=colab_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["datasets==3.6.0", "fsspec==2025.3.0", "gcsfs==2025.3.0"]
    assert "# Base: 2025-06-25-cpu.txt (637 packages installed); this lock holds only the packages to install or change" in result.lock
    changes = [l.strip() for l in result.stderr.splitlines() if l.startswith("  ")]
    assert changes == [
        "~ datasets 2.14.4 -> 3.6.0 (you requested datasets==3.6.0; fsspec 2025.3.0 forbids "
        "datasets<2.14.6,>=2.5.0 by knowledge rule datasets-2.14-fsspec-2023.10-localfilesystem; "
        "fsspec 2025.3.0 forbids datasets<2.19.0,>=2.0.0 by knowledge rule "
        "datasets-2.17-fsspec-2023.12-glob-double-star)",
        "~ fsspec 2025.3.2 -> 2025.3.0 (gcsfs 2025.3.0 requires fsspec==2025.3.0; "
        "datasets 3.6.0 requires fsspec[http]<=2025.3.0,>=2023.1.0)",
        "~ gcsfs 2025.3.2 -> 2025.3.0 (changed to keep fsspec consistent: gcsfs 2025.3.2 "
        "requires fsspec==2025.3.2, and fsspec is now 2025.3.0)",
    ]


def test_keep_base_fails_naming_the_installed_packages_in_the_way(colab_index, ftlock):
    result = ftlock("solve", "--base", str(COLAB), "datasets==3.6.0", "--keep-base", index=colab_index)

    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: cannot solve: conflicting requirements on fsspec: the base environment has "
        "fsspec==2025.3.2 (installed, --keep-base); gcsfs 2025.3.2 requires fsspec==2025.3.2; "
        "datasets 3.6.0 requires fsspec[http]<=2025.3.0,>=2023.1.0"
    )
    assert result.lock is None


def test_a_request_that_already_fits_changes_no_installed_package(colab_index, ftlock):
    """peft is installed and works; trl is new. The base already breaks two knowledge rules
    (datasets 2.14.4 with fsspec 2025.3.2): reported, not "fixed" behind the user's back."""
    result = ftlock("solve", "--base", str(COLAB), "peft", "trl", index=colab_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["trl==0.19.0"]
    assert "  + trl 0.19.0 (new; required by requested)" in result.stderr.splitlines()
    assert (
        "warning: the base environment already breaks knowledge rule "
        "datasets-2.17-fsspec-2023.12-glob-double-star; left as installed"
    ) in result.stderr


def test_output_full_locks_the_whole_environment_and_lists_what_was_kept(colab_index, ftlock):
    result = ftlock("solve", "--base", str(COLAB), "datasets==3.6.0", "--output-full", index=colab_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["datasets==3.6.0", "fsspec==2025.3.0", "gcsfs==2025.3.0", "peft==0.15.2"]
    assert (
        "# kept from the base, not from the index: torch: kept as installed (from "
        "https://download.pytorch.org/whl/cu124/torch-2.6.0%2Bcu124-cp311-cp311-linux_x86_64.whl); "
        "using no recorded metadata, so its requirements are not checked (--base-python reads them)"
    ) in result.lock.splitlines()


def test_the_lock_installs_over_the_base_and_pip_check_is_clean(local_index, dists_dir, ftlock, tmp_path):
    """A small real base: a venv holding gcsfs/fsspec 2025.3.2, then the lock on top."""
    index = local_index()
    for name, version, requires in RECORDED[:6]:
        index.add(build_wheel(dists_dir, name, version, requires_dist=requires, provides_extra=["http"]))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)] if _pip_has_python_flag() else None
    if pip is None:
        pytest.skip("pip --python is needed to install into a venv without pip")
    quiet = ["--quiet", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "install", *quiet, "--no-deps", "--no-index", "--find-links", str(dists_dir),
                    "gcsfs==2025.3.2", "fsspec==2025.3.2"], check=True)
    freeze = tmp_path / "freeze.txt"
    freeze.write_text(subprocess.run([*pip, "freeze"], check=True, capture_output=True, text=True).stdout)

    result = ftlock("solve", "--base", str(freeze), "datasets==3.6.0", index=index)
    assert result.exit_code == 0, result.stderr
    lock = tmp_path / "out.txt"
    subprocess.run([*pip, "install", *quiet, "--require-hashes", "--no-deps", "--index-url", index.url,
                    "-r", str(lock)], check=True)
    check = subprocess.run([*pip, "check"], capture_output=True, text=True)

    assert check.returncode == 0, check.stdout + check.stderr
    assert "No broken requirements found." in check.stdout


def _pip_has_python_flag() -> bool:
    out = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True).stdout
    major, minor = (int(x) for x in out.split()[1].split(".")[:2])
    return (major, minor) >= (22, 3)
