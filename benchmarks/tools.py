"""Command lines of the three tools, built the same way for every input and mode.

All three read one ``requirements.in``, write one hash-pinned lock, and use one index and
their own cache directory (a fresh one for a COLD run, the same one again for WARM):

* ftlock: ``ftlock solve -r IN --python 3.11 --platform linux_x86_64 -o OUT --cache-dir D``;
* uv: ``uv pip compile IN --generate-hashes --python-version 3.11
  --python-platform x86_64-manylinux_2_28 --cache-dir D`` (``--no-config``: uv must not
  pick up a ``uv.toml`` of the machine);
* pip-compile: ``pip-compile --generate-hashes --allow-unsafe --cache-dir D`` run by a
  Python 3.11 interpreter (it resolves for the interpreter that runs it); with the
  backtracking resolver pip-tools hands D to pip as its HTTP cache too.
  ``--allow-unsafe`` pins setuptools/pip like the other two do, so the locks compare.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

TOOLS = ("ftlock", "uv", "pip-compile")
TARGET_PYTHON = "3.11"
FTLOCK_PLATFORM = "linux_x86_64"  # ftlock's name for manylinux_2_28 x86_64
UV_PLATFORM = "x86_64-manylinux_2_28"

_FTLOCK_STATS = re.compile(r"\((\d+) HTTP requests?, ([\d.]+) MB\)")


def venv_bin(name: str) -> str:
    """``name`` next to the running interpreter (the venv), else on PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found next to {sys.executable} nor on PATH")
    return found


def ftlock_base() -> list[str]:
    return [venv_bin("ftlock")]


def compile_ftlock() -> None:
    """Write ftlock's bytecode, as ``pip install`` does for a regular install: an editable
    install run with PYTHONDONTWRITEBYTECODE (set on some CI machines) would otherwise
    compile every module from source on every run and be timed doing it."""
    import ftlock  # noqa: PLC0415

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(ftlock.__file__).parent)],
        check=False, capture_output=True,
    )


def python311() -> str | None:
    """An interpreter that is CPython 3.11 and has pip-tools: this one, else python3.11."""
    for candidate in (sys.executable, shutil.which("python3.11"), shutil.which("python3")):
        if not candidate:
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys, piptools; print(sys.version_info[:2] == (3, 11))"],
            capture_output=True, text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    return None


@dataclass(frozen=True)
class Invocation:
    cmd: list[str]
    extra_env: dict[str, str]


def ftlock_cmd(
    req_in: Path, out: Path, cache: Path, index_url: str, extra: tuple[str, ...] = ()
) -> Invocation:
    cmd = [
        *ftlock_base(), "solve", "-r", req_in.name, *extra,
        "--python", TARGET_PYTHON, "--platform", FTLOCK_PLATFORM,
        "-o", str(out), "--cache-dir", str(cache), "--index-url", index_url,
    ]
    return Invocation(cmd, {})


def uv_cmd(
    req_in: Path, out: Path, cache: Path, index_url: str, hashes: bool = True
) -> Invocation:
    cmd = [
        venv_bin("uv"), "pip", "compile", req_in.name,
        "--python-version", TARGET_PYTHON, "--python-platform", UV_PLATFORM,
        "--cache-dir", str(cache), "--index-url", index_url, "--no-config",
        "-o", str(out),
    ]
    if hashes:
        cmd.insert(4, "--generate-hashes")
    return Invocation(cmd, {})


def pip_compile_cmd(
    python: str, req_in: Path, out: Path, cache: Path, index_url: str
) -> Invocation:
    cmd = [
        python, "-m", "piptools", "compile", "--generate-hashes", "--allow-unsafe",
        "--index-url", index_url, "--cache-dir", str(cache / "pip-tools"),
        "--no-emit-index-url", "-o", str(out), req_in.name,
    ]
    if index_url.startswith("http://"):
        # pip mounts its caching HTTP adapter only for https and trusted hosts: without
        # this, a WARM pip-compile against the local mirror would download everything again.
        host = urlsplit(index_url).netloc
        cmd[4:4] = ["--trusted-host", host]
    return Invocation(cmd, {})


def ftlock_stats(stderr: str) -> tuple[int, int] | None:
    """``(requests, bytes)`` from ftlock's summary line ``(N HTTP requests, X MB)``; a solve
    answered by the solve cache made none."""
    found = _FTLOCK_STATS.findall(stderr)
    if not found:
        return (0, 0) if "reused from the solve cache" in stderr else None
    requests, megabytes = found[-1]
    return int(requests), int(float(megabytes) * 1e6)


def versions(pip_python: str | None = None) -> dict[str, str]:
    """Versions of everything measured, for the machine-facts line of the report; pip-tools
    and pip are those of ``pip_python``, the interpreter that runs pip-compile."""
    facts: dict[str, str] = {}
    pip_side = pip_python or sys.executable
    for name, cmd in (
        ("ftlock", [*ftlock_base(), "--version"]),
        ("uv", [venv_bin("uv"), "--version"]),
        ("pip-tools", [pip_side, "-m", "piptools", "compile", "--version"]),
        ("pip", [pip_side, "-m", "pip", "--version"]),
    ):
        try:
            shown = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            match = re.search(r"(\d+\.\d+(?:\.\d+)?\S*)", shown.stdout) if shown.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired):
            match = None
        facts[name] = match.group(1) if match else "unavailable"
    return facts
