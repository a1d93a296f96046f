"""Specification: PEP 751 pylock.toml output (`solve --format pylock`, `format = "pylock"`
targets), proven by installing it with a real client that reads pylock files."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ftlock.lock.lockfile import read_lock
from tests.support.dists import build_sdist, build_wheel, sha256_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

UTC = dt.timezone.utc


@pytest.fixture
def index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    idx = local_index()
    idx.add(build_wheel(dists_dir, "requests", "2.32.3", requires_dist=["urllib3>=1.21,<3", "idna>=2.5"]))
    idx.add(build_wheel(dists_dir, "urllib3", "2.2.3"), upload_time="2024-09-12T10:52:18.123456Z")
    idx.add(build_sdist(dists_dir, "urllib3", "2.2.3"), upload_time="2024-09-12T10:52:20Z")
    idx.add(build_wheel(dists_dir, "idna", "3.10"), upload_time=None)
    idx.add(build_wheel(dists_dir, "rich", "13.9.4", requires_dist=["markdown-it-py>=2.2.0"]))
    idx.add(build_wheel(dists_dir, "markdown-it-py", "3.0.0"))
    return idx


def solve_pylock(ftlock, index, tmp_path, *args):  # type: ignore[no-untyped-def]
    out = tmp_path / "pylock.toml"
    result = ftlock("solve", *args, "--format", "pylock", index=index, output=out)
    assert result.exit_code == 0, result.stderr
    return result, tomllib.loads(out.read_text())


def test_pylock_records_the_target_and_every_file_with_url_size_time_and_hash(index, ftlock, tmp_path, dists_dir):
    _, doc = solve_pylock(ftlock, index, tmp_path, "requests")

    assert doc["lock-version"] == "1.0"
    assert doc["created-by"] == "ftlock"
    assert doc["requires-python"] == "==3.11.*"
    assert doc["environments"] == [
        "sys_platform == 'linux' and platform_machine == 'x86_64' and "
        "implementation_name == 'cpython' and python_version == '3.11'"
    ]
    packages = {p["name"]: p for p in doc["packages"]}
    assert list(packages) == ["idna", "requests", "urllib3"]
    urllib3 = packages["urllib3"]
    wheel = dists_dir / "urllib3-2.2.3-py3-none-any.whl"
    sdist = dists_dir / "urllib3-2.2.3.tar.gz"
    assert urllib3["version"] == "2.2.3"
    assert urllib3["index"] == index.url
    assert urllib3["wheels"] == [
        {
            "name": wheel.name,
            "upload-time": dt.datetime(2024, 9, 12, 10, 52, 18, 123456, tzinfo=UTC),
            "url": index.file_url(wheel.name),
            "size": wheel.stat().st_size,
            "hashes": {"sha256": sha256_file(wheel)},
        }
    ]
    assert urllib3["sdist"] == {
        "name": sdist.name,
        "upload-time": dt.datetime(2024, 9, 12, 10, 52, 20, tzinfo=UTC),
        "url": index.file_url(sdist.name),
        "size": sdist.stat().st_size,
        "hashes": {"sha256": sha256_file(sdist)},
    }
    assert urllib3["tool"] == {"ftlock": {"via": ["requests"]}}
    assert "upload-time" not in packages["idna"]["wheels"][0]  # the index gave none
    assert packages["requests"]["dependencies"] == [{"name": "idna"}, {"name": "urllib3"}]
    assert packages["requests"]["tool"] == {"ftlock": {"via": ["requested"]}}
    tool = doc["tool"]["ftlock"]
    assert tool["target"] == "CPython 3.11, linux_x86_64"
    assert tool["indexes"] == [index.url]
    assert tool["command"].startswith("ftlock solve requests --format pylock ")


@pytest.mark.parametrize(
    ("python", "plat", "requires", "marker"),
    [
        ("3.11.7", "linux_x86_64", "==3.11.7",
         "sys_platform == 'linux' and platform_machine == 'x86_64' and implementation_name == 'cpython' and python_full_version == '3.11.7'"),
        ("3.12", "win_amd64", "==3.12.*",
         "sys_platform == 'win32' and platform_machine == 'AMD64' and implementation_name == 'cpython' and python_version == '3.12'"),
        ("3.10", "macosx_14_0_arm64", "==3.10.*",
         "sys_platform == 'darwin' and platform_machine == 'arm64' and implementation_name == 'cpython' and python_version == '3.10'"),
    ],
)
def test_pylock_environment_follows_the_target(index, ftlock, tmp_path, python, plat, requires, marker):
    _, doc = solve_pylock(ftlock, index, tmp_path, "idna", "--python", python, "--platform", plat)

    assert doc["requires-python"] == requires
    assert doc["environments"] == [marker]


def test_same_inputs_give_the_same_pylock_bytes(index, ftlock, tmp_path):
    out = tmp_path / "pylock.toml"
    ftlock("solve", "requests", "rich", "--format", "pylock", index=index, output=out)
    first = out.read_bytes()
    ftlock("solve", "requests", "rich", "--format", "pylock", "--no-cache", index=index, output=out)

    assert out.read_bytes() == first


def test_pylock_keeps_rule_notes_and_exclude_newer(local_index, dists_dir, ftlock, tmp_path):
    idx = local_index()
    for name, version in [("unsloth", "2024.7"), ("peft", "0.11.1"), ("peft", "0.12.0")]:
        idx.add(build_wheel(dists_dir, name, version))

    _, doc = solve_pylock(ftlock, idx, tmp_path, "unsloth==2024.7", "peft", "--exclude-newer", "2025-01-01")

    peft = next(p for p in doc["packages"] if p["name"] == "peft")
    assert peft["version"] == "0.11.1"
    assert peft["tool"]["ftlock"]["notes"] == [
        "ftlock: peft not >=0.12.0 (if installed) because unsloth 2024.7 — rule "
        "unsloth-2024.7-peft-0.12-zero-qkv, https://github.com/unslothai/unsloth/issues/804"
    ]
    assert doc["tool"]["ftlock"]["exclude-newer"] == dt.datetime(2025, 1, 1, tzinfo=UTC)


def test_a_pylock_file_name_outside_pep_751_gets_a_warning(index, ftlock, tmp_path):
    result = ftlock("solve", "idna", "--format", "pylock", index=index, output=tmp_path / "lock.toml")

    assert result.exit_code == 0
    assert "warning: PEP 751 names lock files pylock.toml or pylock.NAME.toml, not lock.toml" in result.stderr


def test_a_pylock_target_is_written_checked_and_read_back(index, ftlock, tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    config = root / "pyproject.toml"
    config.write_text(
        f'[tool.ftlock]\nrequirements = ["requests"]\nindex-url = "{index.url}"\n'
        '[tool.ftlock.targets.gpu]\npython = "3.11"\nplatform = "linux_x86_64"\ngpu = "a100"\nformat = "pylock"\n'
    )

    locked = ftlock("lock", "--config", str(config), "--cache-dir", str(tmp_path / "c"))
    checked = ftlock("lock", "--check", "--config", str(config))

    assert locked.exit_code == 0, locked.stderr
    assert locked.stderr.splitlines() == ["gpu: pylock.gpu.toml: 3 packages (new lock)"]
    assert checked.exit_code == 0, checked.stdout
    lock = read_lock(root / "pylock.gpu.toml")
    assert lock.pins() == {"idna": "3.10", "requests": "2.32.3", "urllib3": "2.2.3"}
    assert lock.packages["requests"].via == ("pyproject.toml",)
    assert "require requests (pyproject.toml)" in lock.inputs
    assert "gpu a100" in lock.inputs
    assert lock.fingerprint is not None and lock.fingerprint.startswith("sha256:")


def _uv() -> str | None:
    here = Path(sys.executable).parent / "uv"
    return str(here) if here.exists() else shutil.which("uv")


@pytest.mark.skipif(_uv() is None, reason="uv (a client that installs pylock.toml) is not installed")
def test_a_real_client_installs_the_pylock_and_pip_check_is_clean(index, ftlock, tmp_path):
    machine = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
    arch = machine.get(platform.machine().lower())
    if sys.platform != "linux" or arch is None:
        pytest.skip("the install test targets this machine, and is written for Linux")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    lock = tmp_path / "pylock.toml"
    result = ftlock(
        "solve", "requests", "rich", "--format", "pylock",
        "--python", python, "--platform", f"linux_{arch}", index=index, output=lock,
    )
    assert result.exit_code == 0, result.stderr
    venv = tmp_path / "venv"
    # a bare venv (creating one with pip is slow); pip then checks it from outside (--python)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    env = {
        **os.environ,
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_INDEX_URL": index.url,  # nothing but the local index, should uv ask one
        "UV_PREVIEW_FEATURES": "pylock",
    }

    installed = subprocess.run(
        [_uv(), "pip", "install", "--python", str(venv / "bin" / "python"), "-r", str(lock)],
        capture_output=True, text=True, env=env, timeout=120,
    )

    assert installed.returncode == 0, installed.stderr
    assert sorted(l.strip() for l in installed.stderr.splitlines() if l.startswith(" + ")) == [
        "+ idna==3.10",
        "+ markdown-it-py==3.0.0",
        "+ requests==2.32.3",
        "+ rich==13.9.4",
        "+ urllib3==2.2.3",
    ]
    check = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "check"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout == "No broken requirements found.\n"
    assert index.count(prefix="/files/urllib3-2.2.3-py3-none-any.whl") >= 1  # the wheel, not the sdist
    assert index.count(prefix="/files/urllib3-2.2.3.tar.gz") == 0


@pytest.mark.skipif(_uv() is None, reason="uv (a client that installs pylock.toml) is not installed")
def test_a_real_client_refuses_a_pylock_whose_hash_does_not_match(index, ftlock, tmp_path):
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    if sys.platform != "linux" or platform.machine() != "x86_64":
        pytest.skip("written for linux x86_64")
    lock = tmp_path / "pylock.toml"
    ftlock("solve", "idna", "--format", "pylock", "--python", python, index=index, output=lock)
    doc = lock.read_text()
    good = next(p for p in tomllib.loads(doc)["packages"] if p["name"] == "idna")["wheels"][0]["hashes"]["sha256"]
    lock.write_text(doc.replace(good, "0" * 64))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_NO_CONFIG": "1",
           "UV_PYTHON_DOWNLOADS": "never", "UV_INDEX_URL": index.url, "UV_PREVIEW_FEATURES": "pylock"}

    installed = subprocess.run(
        [_uv(), "pip", "install", "--python", str(venv / "bin" / "python"), "-r", str(lock)],
        capture_output=True, text=True, env=env, timeout=120,
    )

    assert installed.returncode != 0
    assert "hash" in installed.stderr.lower()


def test_a_local_wheel_is_an_archive_with_its_path_size_and_hash(index, ftlock, tmp_path, dists_dir):
    wheel = build_wheel(dists_dir, "mytool", "0.1", requires_dist=["idna"])

    _, doc = solve_pylock(ftlock, index, tmp_path, str(wheel))

    mytool = next(p for p in doc["packages"] if p["name"] == "mytool")
    assert mytool == {
        "name": "mytool",
        "version": "0.1",
        "dependencies": [{"name": "idna"}],
        "archive": {"path": str(wheel), "size": wheel.stat().st_size, "hashes": {"sha256": sha256_file(wheel)}},
        "tool": {"ftlock": {"via": ["requested"]}},
    }


def test_relocking_a_pylock_target_keeps_its_pins_and_upgrade_package_moves_one(local_index, dists_dir, ftlock, tmp_path):
    idx = local_index()
    for name in ("alpha", "beta"):
        idx.add(build_wheel(dists_dir, name, "1.0"))
    root = tmp_path / "proj"
    root.mkdir()
    config = root / "pyproject.toml"
    config.write_text(f'[tool.ftlock]\nrequirements = ["alpha", "beta"]\nindex-url = "{idx.url}"\nformat = "pylock"\n')
    args = ("lock", "--config", str(config), "--cache-dir", str(tmp_path / "c"), "--refresh")
    ftlock(*args)
    for name in ("alpha", "beta"):
        idx.add(build_wheel(dists_dir, name, "2.0"))

    kept = ftlock(*args)
    pins_kept = read_lock(root / "pylock.toml").pins()
    moved = ftlock(*args, "-P", "beta")

    assert kept.exit_code == 0 and moved.exit_code == 0, moved.stderr
    assert pins_kept == {"alpha": "1.0", "beta": "1.0"}
    assert read_lock(root / "pylock.toml").pins() == {"alpha": "1.0", "beta": "2.0"}
    assert moved.stderr.splitlines() == ["default: pylock.toml: 2 packages (beta 1.0 -> 2.0)"]
