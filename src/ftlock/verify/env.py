"""Throwaway environments: the interpreter a lock targets, a virtual environment for it, and
child processes run inside it with a timeout.

A lock names its target in its header (``CPython 3.11, linux_x86_64``).  Verifying it needs
a local interpreter of that Python on a machine of that platform; anything else is one clear
error (:class:`CannotVerify`, exit 2) before anything is downloaded.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ftlock.errors import UsageError
from ftlock.resolve.target import PlatformTarget, PythonTarget


class CannotVerify(UsageError):
    """The lock cannot be verified on this machine (platform, Python, installer); exit 2."""


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: tuple[int, int, int]

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    def describe(self) -> str:
        return f"CPython {self.version_text} ({self.path})"


_QUERY = "import sys; print(sys.implementation.name, *sys.version_info[:3])"


def inspect_interpreter(path: str) -> Interpreter | None:
    """The CPython at ``path`` and its version, or None when it is not one that runs."""
    try:
        result = subprocess.run(
            [path, "-I", "-c", _QUERY], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    fields = result.stdout.split()
    if result.returncode != 0 or len(fields) != 4 or fields[0] != "cpython":
        return None
    try:
        version = (int(fields[1]), int(fields[2]), int(fields[3]))
    except ValueError:
        return None
    return Interpreter(path, version)


def matches(want: PythonTarget, version: tuple[int, int, int]) -> bool:
    if want.exact:
        return tuple(want.release) == version
    return version[:2] == want.minor


def find_interpreter(want: PythonTarget | None, explicit: str | None = None) -> Interpreter:
    """``explicit`` (``--python PATH``) when it fits the target, else the first local CPython
    that does: this one, ``pythonX.Y`` on PATH, then one uv knows (never downloaded)."""
    if explicit is not None:
        found = inspect_interpreter(explicit)
        if found is None:
            raise CannotVerify(f"--python {explicit}: not a CPython interpreter that runs here")
        if want is not None and not matches(want, found.version):
            raise CannotVerify(
                f"--python {explicit} is CPython {found.version_text}; the lock targets CPython {want}"
            )
        return found
    if want is None:
        return Interpreter(sys.executable, (sys.version_info.major, sys.version_info.minor, sys.version_info.micro))
    candidates: list[str] = [sys.executable]
    major, minor = want.minor
    for name in (f"python{major}.{minor}", f"python{major}"):
        path = shutil.which(name)
        if path:
            candidates.append(path)
    uv = uv_path()
    if uv is not None:
        try:
            found_uv = subprocess.run(
                [uv, "python", "find", str(want)], capture_output=True, text=True, timeout=60,
                env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"}, check=False,
            )
            if found_uv.returncode == 0 and found_uv.stdout.strip():
                candidates.append(found_uv.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError):
            pass
    seen: set[str] = set()
    for path in candidates:
        if path in seen:
            continue
        seen.add(path)
        found = inspect_interpreter(path)
        if found is not None and matches(want, found.version):
            return found
    raise CannotVerify(
        f"no CPython {want} on this machine (looked at {', '.join(seen)}); "
        f"install one or pass --python PATH"
    )


def check_platform(platform: PlatformTarget | None) -> None:
    """The lock's platform must be one this machine runs (wheels for it install here)."""
    if platform is None:
        return
    here = PlatformTarget.running()
    same = platform.system == here.system and platform.machine == here.machine
    if same and here.system == "Linux":
        same = platform.platform_tags[0] in here.platform_tags
    if not same:
        raise CannotVerify(
            f"the lock targets {platform.name}; this machine is {here.name}: verify it on a "
            f"{platform.name} machine (or a container of it)"
        )


def uv_path() -> str | None:
    """uv beside this interpreter (ftlock's own environment), else on PATH."""
    here = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    if here.exists():
        return str(here)
    return shutil.which("uv")


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def site_packages(python: Path) -> list[Path]:
    """The environment's purelib and platlib directories (usually one)."""
    code = "import sysconfig; print(sysconfig.get_path('purelib')); print(sysconfig.get_path('platlib'))"
    result = subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True, timeout=60, check=True)
    paths = [Path(line) for line in result.stdout.splitlines() if line.strip()]
    return list(dict.fromkeys(paths))


def create_venv(interpreter: Interpreter, dest: Path, installer: str, uv: str | None) -> Path:
    """A new virtual environment at ``dest`` (which must not exist or be empty); its python.

    With uv: ``uv venv`` (fast, no pip); with pip: ``python -m venv`` (pip included, so the
    install is the plain ``pip install`` a user runs)."""
    if dest.exists() and any(dest.iterdir()):
        raise CannotVerify(f"{dest} exists and is not empty; give --keep a new directory")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if installer == "uv" and uv is not None:
        cmd = [uv, "venv", "--quiet", "--python", interpreter.path, str(dest)]
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    else:
        cmd = [interpreter.path, "-m", "venv", str(dest)]
        env = dict(os.environ)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, check=False)
    if result.returncode != 0:
        raise CannotVerify(f"cannot create a virtual environment: {last_line(result.stderr or result.stdout)}")
    return venv_python(dest)


def child_env(venv: Path, home: Path) -> dict[str, str]:
    """The environment of every child run in the venv: that venv first on PATH, nothing of
    ftlock's own environment on sys.path, and every model/data hub offline and pointed at a
    scratch directory, so a check can neither download nor read the user's caches."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    bindir = venv_python(venv).parent
    env.update(
        VIRTUAL_ENV=str(venv),
        PATH=os.pathsep.join([str(bindir), env.get("PATH", "")]),
        PYTHONNOUSERSITE="1",
        PYTHONFAULTHANDLER="1",
        HF_HOME=str(home / "hf"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        DO_NOT_TRACK="1",
        WANDB_MODE="disabled",
        TOKENIZERS_PARALLELISM="false",
        MPLBACKEND="Agg",
        XDG_CACHE_HOME=str(home / "cache"),
        TRITON_CACHE_DIR=str(home / "triton"),
        TORCHINDUCTOR_CACHE_DIR=str(home / "inductor"),
    )
    return env


_DROP = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH", "CONDA_PREFIX"}


@dataclass(frozen=True)
class Outcome:
    """How a child run ended: ``ok`` (exit 0), the seconds it took, and for a failure the
    one line that says why (the exception's last line, a signal, or the timeout)."""

    ok: bool
    seconds: float
    line: str
    output: str
    returncode: int | None


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def error_line(text: str) -> str:
    """The exception line of the last traceback in ``text`` (lines printed after it, such as
    warnings at exit, must not hide the error), else the last line."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if starts:
        tail = [line.strip() for line in lines[starts[-1] + 1 :] if not line.startswith((" ", "\t"))]
        first = next((i for i, line in enumerate(tail) if _EXCEPTION.match(line)), None)
        if first is not None:
            # a message may go on over more lines (transformers' "Failed to import X because
            # of the following error (look up to see its traceback):\n<the cause>")
            text = " ".join([tail[first], *tail[first + 1 : first + 4]])
            return text if len(text) <= 400 else text[:397] + "..."
        if tail:
            return tail[-1]
    return lines[-1].strip() if lines else "no output"


_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning|Failure)\b(:|$)|^[A-Za-z_][\w.]*: ")


def run_python(
    python: Path, code: str, *, env: dict[str, str], cwd: Path, timeout: float
) -> Outcome:
    """Run ``code`` with the environment's python in a new process group; a timeout kills the
    whole group (a check's own workers included)."""
    started = time.perf_counter()
    # a file, not -c: tracebacks show the line, and code that reads its own source
    # (triton.jit, inspect) works
    fd, script = tempfile.mkstemp(prefix="ftlock-check-", suffix=".py", dir=cwd)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(code)
    try:
        return _run_script(python, Path(script), env, cwd, timeout, started)
    finally:
        try:
            os.unlink(script)
        except OSError:
            pass


def _run_script(python: Path, script: Path, env: dict[str, str], cwd: Path, timeout: float, started: float) -> Outcome:
    try:
        proc = subprocess.Popen(
            [str(python), str(script)], cwd=cwd, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
        )
    except OSError as exc:
        return Outcome(False, 0.0, f"cannot start {python}: {exc.strerror or exc}", "", None)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        output, _ = proc.communicate()
        return Outcome(False, time.perf_counter() - started, f"timed out after {timeout:g}s", output or "", None)
    seconds = time.perf_counter() - started
    if proc.returncode == 0:
        return Outcome(True, seconds, "", output, 0)
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        return Outcome(False, seconds, f"killed by {name}", output, proc.returncode)
    return Outcome(False, seconds, error_line(output), output, proc.returncode)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        proc.kill()
