"""Install a lock exactly as a user would, and run ``pip check``.

* uv, when it is installed (much faster): ``uv pip install --require-hashes --no-deps -r
  LOCK`` (a pylock.toml: ``uv pip install -r pylock.toml``, which reads it natively);
* else pip: ``python -m pip install --require-hashes --no-deps -r LOCK`` in the venv.

Either way the lock's own ``--index-url``/``--extra-index-url`` lines decide where files
come from, every file is hash-checked, and the installer's wheel cache lives under ftlock's
cache directory (``verify/uv`` or ``verify/pip``), so a second run downloads nothing that
the first one fetched.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ftlock.verify.env import CannotVerify, last_line

INSTALL_TIMEOUT = 3600.0  # seconds: multi-GB stacks on a slow link


@dataclass(frozen=True)
class Installer:
    kind: str  # "uv" | "pip"
    exe: str | None  # uv's path; None for pip (it runs inside the venv)
    version: str
    cache: Path

    def describe(self) -> str:
        return self.version

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for var in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
            env.pop(var, None)
        if self.kind == "uv":
            env.update(UV_CACHE_DIR=str(self.cache), UV_PYTHON_DOWNLOADS="never", UV_PREVIEW_FEATURES="pylock", NO_COLOR="1")
        else:
            env.update(PIP_CACHE_DIR=str(self.cache), PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        return env


def choose(kind: str, uv: str | None, cache_root: Path, *, pylock: bool) -> Installer:
    """``kind``: auto (uv when installed), uv or pip."""
    if kind == "uv" and uv is None:
        raise CannotVerify("--installer uv: uv is not installed (pip install uv)")
    if kind == "auto":
        kind = "uv" if uv is not None else "pip"
    if kind == "pip" and pylock:
        raise CannotVerify("a pylock.toml needs an installer that reads PEP 751 locks: install uv (pip install uv)")
    if kind == "uv":
        assert uv is not None
        try:
            shown = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            shown = ""
        return Installer("uv", uv, shown or "uv", cache_root / "uv")
    return Installer("pip", None, "pip", cache_root / "pip")


def command(installer: Installer, python: Path, lock: Path) -> list[str]:
    pylock = lock.name.endswith(".toml")
    if installer.kind == "uv":
        assert installer.exe is not None
        cmd = [installer.exe, "pip", "install", "--python", str(python)]
        if not pylock:
            cmd += ["--require-hashes", "--no-deps"]
        return cmd + ["-r", str(lock)]
    return [
        str(python), "-m", "pip", "install", "--require-hashes", "--no-deps",
        "--progress-bar", "off", "-r", str(lock),
    ]


def shown_command(installer: Installer, lock: Path) -> str:
    if installer.kind == "uv":
        if lock.name.endswith(".toml"):
            return f"uv pip install -r {lock.name}"
        return f"uv pip install --require-hashes --no-deps -r {lock.name}"
    return f"pip install --require-hashes --no-deps -r {lock.name}"


@dataclass(frozen=True)
class InstallResult:
    ok: bool
    seconds: float
    line: str  # why it failed, in one line
    output: str


def install(
    installer: Installer, python: Path, lock: Path, *, on_line: Callable[[str], None] | None = None,
    timeout: float = INSTALL_TIMEOUT,
) -> InstallResult:
    """Run the install, handing each output line to ``on_line`` (progress)."""
    started = time.perf_counter()
    if installer.kind == "pip":
        version = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True, text=True, check=False)
        if version.returncode != 0:
            return InstallResult(False, 0.0, f"pip is not available in the environment: {last_line(version.stderr)}", version.stderr)
    try:
        proc = subprocess.Popen(
            command(installer, python, lock), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace", env=installer.env(), cwd=lock.parent, start_new_session=True,
        )
    except OSError as exc:
        return InstallResult(False, 0.0, f"cannot run {installer.kind}: {exc.strerror or exc}", "")
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = started + timeout
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if on_line is not None:
            on_line(line.rstrip("\n"))
        if time.perf_counter() > deadline:
            proc.kill()
            break
    try:
        code = proc.wait(timeout=max(1.0, deadline - time.perf_counter()))
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    output = "\n".join(lines)
    seconds = time.perf_counter() - started
    if time.perf_counter() > deadline:
        return InstallResult(False, seconds, f"timed out after {timeout:g}s", output)
    if code != 0:
        return InstallResult(False, seconds, install_error(output), output)
    return InstallResult(True, seconds, "", output)


def install_error(output: str) -> str:
    """One line for a failed install: the innermost cause uv gives, pip's ERROR line, or a
    hash mismatch named as one."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    causes = [line.split(":", 1)[1].strip() for line in lines if line.startswith(("Caused by:", "cause:"))]
    errors = [line for line in lines if line.lower().startswith(("error:", "× ", "x "))]
    marker = next((i for i, line in enumerate(lines) if "DO NOT MATCH THE HASHES" in line), None)
    if marker is not None:  # pip: the next line names the file
        after = lines[marker + 1] if marker + 1 < len(lines) else ""
        name = after.split(" from ", 1)[0].rstrip(":") if "==" in after else ""
        return "hash mismatch: " + (name or "a downloaded file does not match the lock's hash")
    if causes:
        cause = causes[-1]
        head = errors[0].split(":", 1)[1].strip() if errors and ":" in errors[0] else ""
        return f"{cause} ({head})" if head and head != cause else cause
    if errors:
        return errors[-1]
    return last_line(output)


def pip_check(installer: Installer, python: Path) -> tuple[bool, float, str]:
    """``pip check`` (``uv pip check`` when installing with uv): ok, seconds, problems."""
    started = time.perf_counter()
    if installer.kind == "uv":
        assert installer.exe is not None
        cmd = [installer.exe, "pip", "check", "--python", str(python)]
    else:
        cmd = [str(python), "-m", "pip", "check"]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=installer.env(), check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, time.perf_counter() - started, f"cannot run {installer.kind} check: {exc}"
    seconds = time.perf_counter() - started
    if result.returncode == 0:
        return True, seconds, ""
    text = result.stdout + "\n" + result.stderr
    problems = [
        line.strip() for line in text.splitlines()
        if line.strip() and ("requires" in line or "has requirement" in line or "is not installed" in line
                             or "not supported" in line)
    ]
    return False, seconds, "; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else "") if problems else last_line(text)
