"""Learn a source tree's core metadata from its PEP 517 hooks, in an isolated environment.

The build requirements come from :mod:`ftlock.resolve.buildenv` (the solve's indexes and
cut-off, never pip's configuration).  The hooks run through ``pyproject_hooks`` in a child
process of that environment's interpreter, with output captured: a backend's chatter never
reaches ftlock's output, a hung build is stopped, and when a hook fails its last meaningful
line becomes the one-line error, with a hint when the cause is a common one.

What comes back is the METADATA file exactly as the backend wrote it.  Re-serialising it
(``email`` ``as_string()``) is what used to crash on legacy sdists whose multi-line
description looks like an embedded header.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ftlock.errors import MetadataError
from ftlock._toml import tomllib

if TYPE_CHECKING:  # pragma: no cover
    from ftlock.resolve.buildenv import BuildEnv, BuildEnvironments


log = logging.getLogger("ftlock.resolver.pep517")  # the name users see in -v output; kept across the move
T = TypeVar("T")

BUILD_TIMEOUT = 900.0
#: What pip and build assume for a project without ``[build-system]`` (PEP 517/518).
LEGACY_REQUIRES = ("setuptools>=40.8.0",)
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
#: The longest backend line quoted in an error.
MAX_QUOTE = 300


class BuildFailed(Exception):
    """A hook (or its environment) failed; ``str()`` is one line for the user."""


@dataclass(frozen=True)
class BuildSystem:
    """A project's ``[build-system]`` table, with PEP 517's defaults for legacy projects."""

    requires: tuple[str, ...]
    backend: str
    backend_path: tuple[str, ...] = ()

    @classmethod
    def of(cls, source_dir: Path) -> BuildSystem:
        path = source_dir / "pyproject.toml"
        if not path.is_file():
            return cls(LEGACY_REQUIRES, LEGACY_BACKEND)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise BuildFailed(f"pyproject.toml is not valid TOML ({str(exc).splitlines()[0]})") from None
        table = data.get("build-system")
        if table is None:
            return cls(LEGACY_REQUIRES, LEGACY_BACKEND)
        requires = table.get("requires") if isinstance(table, dict) else None
        if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
            raise BuildFailed("pyproject.toml's [build-system] has no valid 'requires' list")
        backend = table.get("build-backend") or LEGACY_BACKEND
        backend_path = table.get("backend-path") or []
        if not isinstance(backend, str) or not isinstance(backend_path, list):
            raise BuildFailed("pyproject.toml's [build-system] has an invalid build-backend or backend-path")
        return cls(tuple(requires), backend, tuple(str(p) for p in backend_path))


def prepare_metadata(
    source_dir: Path, environments: BuildEnvironments, timeout: float = BUILD_TIMEOUT
) -> bytes:
    """The METADATA bytes ``source_dir``'s backend writes (``prepare_metadata_for_build_wheel``,
    or a wheel build when the backend lacks that hook).  Raises :class:`BuildFailed`;
    index and resolution problems of the build requirements raise ftlock errors."""
    system = BuildSystem.of(source_dir)
    deadline = time.monotonic() + timeout
    env = environments.get(system.requires)
    extra = _call(_caller(source_dir, system, env, deadline, timeout).get_requires_for_build_wheel, system)
    if not isinstance(extra, list) or not all(isinstance(r, str) for r in extra):
        raise BuildFailed("the backend's get_requires_for_build_wheel did not return a list of requirements")
    if extra and not env.satisfies(extra):
        env = environments.get(system.requires + tuple(extra))
    with tempfile.TemporaryDirectory(prefix="ftlock-metadata-") as tmp:
        caller = _caller(source_dir, system, env, deadline, timeout)
        name = _call(lambda: caller.prepare_metadata_for_build_wheel(tmp), system)
        metadata = Path(tmp) / str(name) / "METADATA"
        try:
            return metadata.read_bytes()
        except OSError:
            raise BuildFailed(f"the backend wrote no METADATA into {name!r}") from None


def _caller(source_dir: Path, system: BuildSystem, env: BuildEnv, deadline: float, timeout: float):
    from pyproject_hooks import BuildBackendHookCaller

    try:
        return BuildBackendHookCaller(
            str(source_dir),
            system.backend,
            list(system.backend_path) or None,
            runner=_runner(env, deadline, timeout),
            python_executable=str(env.python),
        )
    except ValueError as exc:  # backend-path outside the source tree
        raise BuildFailed(f"invalid backend-path in pyproject.toml ({exc})") from None


def _call(hook: Callable[[], T], system: BuildSystem) -> T:
    from pyproject_hooks import BackendUnavailable, BuildBackendWarning, HookMissing

    # pyproject_hooks re-raises the backend's warnings (deprecated license classifiers, …)
    # in this process; they are the package's business, not the user's, so they are dropped
    # (the backend's output is in the debug log).  A process-wide filter: catch_warnings is
    # not thread-safe, and builds run in the solver's pool.
    warnings.filterwarnings("ignore", category=BuildBackendWarning)
    try:
        return hook()
    except BackendUnavailable as exc:
        cause = summarise(exc.traceback)
        raise BuildFailed(
            f"cannot import the build backend {system.backend!r}" + (f" ({cause})" if cause else "")
        ) from None
    except HookMissing as exc:
        raise BuildFailed(f"the build backend {system.backend!r} has no {exc.hook_name} hook") from None


def _runner(env: BuildEnv, deadline: float, timeout: float):
    """A ``pyproject_hooks`` subprocess runner: the environment's interpreter, output
    captured (logged at debug level, summarised on failure), the build's deadline kept."""

    def run(cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None) -> None:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise subprocess.TimeoutExpired(list(cmd), timeout)
            done = subprocess.run(
                list(cmd), cwd=cwd, env=env.environ(extra_environ), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=remaining, check=False,
            )
        except subprocess.TimeoutExpired:
            raise BuildFailed(f"the build did not finish within {timeout:.0f}s") from None
        except OSError as exc:
            raise BuildFailed(f"cannot run the build environment's interpreter ({exc.strerror})") from None
        output = done.stdout.decode("utf-8", "replace")
        log.debug("build backend output (%s):\n%s", cmd[2] if len(cmd) > 2 else "?", output)
        if done.returncode != 0:
            raise BuildFailed(describe_failure(output, done.returncode))

    return run


# -- failure messages ----------------------------------------------------------------------
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: The last line of a Python traceback: ``ModuleNotFoundError: No module named 'torch'``.
_EXCEPTION = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt)(?::\s.*)?$")
#: distutils/setuptools report failures as ``error: ...`` (sometimes after the traceback).
_ERROR = re.compile(r"^error:\s+\S", re.IGNORECASE)
_MISSING = re.compile(r"^ModuleNotFoundError: No module named '([\w.]+)'")
#: A traceback frame in setup.py, or setuptools running it (it compiles it as "<string>").
_SETUP_FRAME = re.compile(r'^\s*File "[^"]*setup\.py", line \d+|^\s*File "[^"]*setuptools[/\\]build_meta\.py", line \d+, in run_setup$')


def summarise(output: str) -> str:
    """The backend's last meaningful line: the last exception or ``error:`` line, else the
    last line (one line, at most :data:`MAX_QUOTE` characters)."""
    lines = [_ANSI.sub("", line).strip() for line in output.splitlines()]
    lines = [line for line in lines if line]
    chosen = next((line for line in reversed(lines) if _EXCEPTION.match(line) or _ERROR.match(line)), None)
    if chosen is None:
        chosen = lines[-1] if lines else ""
    return chosen if len(chosen) <= MAX_QUOTE else chosen[: MAX_QUOTE - 1] + "…"


def describe_failure(output: str, returncode: int) -> str:
    """One line for a failed hook: the backend's own words, and a hint when they show a
    module the build needs but the package does not declare (typically torch imported
    by setup.py: uv and pip fail the same way, since the build environment is isolated)."""
    line = summarise(output) or f"the backend exited with code {returncode}"
    missing = _MISSING.match(line)
    if missing is None:
        return line
    module = missing.group(1).split(".")[0]
    lines = output.splitlines()
    if any(_SETUP_FRAME.match(l) for l in lines):
        where = f"this package imports {module} in its setup.py"
    else:
        where = f"this package's build imports {module}"
    return (
        f"{line} ({where} but does not list it in its build requirements: "
        f"pin a version that has wheels or static metadata)"
    )
