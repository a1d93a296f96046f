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

import json
import logging
import os
import re
import shutil
import signal
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
#: Runs both hooks of a build from one interpreter start (see :class:`_Plan`).
DRIVER = Path(__file__).with_name("_hookdriver.py")
#: POSIX: each hook process leads a session of its own, so that stopping it stops its
#: children too (the driver's forked hooks, a compiler run by a setup.py).
_SESSIONS = os.name == "posix"


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
    index and resolution problems of the build requirements raise ftlock errors.

    PEP 517's order: ``get_requires_for_build_wheel`` in an environment with the
    ``[build-system]`` requirements, then ``prepare_metadata_for_build_wheel`` in one that
    also has what it returned.  Old setuptools (the legacy default of most sdists of a dated
    solve) always returns ``wheel``, so every such build needs that second environment; once
    a build has shown it, the next one with the same ``[build-system]`` runs both hooks there
    directly, and falls back to the first order unless the answer is again exactly that.
    The hint holds only while every build with that ``[build-system]`` has answered the same
    (see ``BuildEnvironments.hint``): a wrong one costs a hook process, a right one saves one.
    """
    build = _Build(source_dir, BuildSystem.of(source_dir), environments, time.monotonic() + timeout, timeout)
    hint = environments.hint(build.system.requires) if build.merges else None
    if hint:
        found = build.metadata(hint)
        if found is not None:
            return found
    found = build.metadata(None)
    assert found is not None  # pragma: no cover - None only for an expectation
    return found


@dataclass(frozen=True)
class _Plan:
    """Both hooks from one interpreter start (:mod:`ftlock.distribution._hookdriver`): the
    driver's control folder, the metadata folder the second hook writes into, and the
    answers of the first hook under which the driver runs the second one right away.

    Those are the answers for which the PEP 517 order would run the second hook in the same
    environment: in the ``[build-system]`` one, an answer made of its own requirements
    (``require`` empty, ``allow`` them: it has them all, and asking for them again names the
    same environment); in the one with ``hint`` added (see :func:`prepare_metadata`), an
    answer with all of the hint and nothing but it and those requirements.
    """

    control: Path
    metadata_dir: Path
    requires: tuple[str, ...]
    hint: tuple[str, ...]

    def driver(self, cmd: Sequence[str]) -> list[str]:
        """The driver's command line in place of ``pyproject_hooks``' first hook process
        (``[python, _in_process.py, hook, hook_dir]``), with its inputs written: the second
        hook's are the ones ``pyproject_hooks`` will send (checked again in :meth:`replay`)."""
        prepare = self.control / "prepare"
        prepare.mkdir(parents=True)
        expect = {"require": list(self.hint), "allow": [*self.requires, *self.hint]}
        (self.control / "expect.json").write_text(json.dumps(expect), encoding="utf-8")
        kwargs = {"metadata_directory": os.path.abspath(self.metadata_dir), "config_settings": None, "_allow_fallback": True}
        (prepare / "input.json").write_text(json.dumps({"kwargs": kwargs}), encoding="utf-8")
        return [cmd[0], str(DRIVER), cmd[1], cmd[3], str(self.control)]

    def fell_back(self) -> bool:
        return (self.control / "fallback").exists()

    def prepared(self) -> bool:
        """Whether the driver ran the second hook (successfully or not)."""
        return (self.control / "prepare" / "status").exists()

    def replay(self, hook_dir: str) -> bool:
        """Hand ``pyproject_hooks`` the second hook's output from the driver's run, when that
        run succeeded with the very inputs it asks for now; else clear what the run left, so
        that the hook runs afresh into an empty folder."""
        prepare = self.control / "prepare"
        if not self.prepared():
            return False
        asked = json.loads(Path(hook_dir, "input.json").read_text(encoding="utf-8"))
        ran = json.loads((prepare / "input.json").read_text(encoding="utf-8"))
        if (prepare / "status").read_text(encoding="utf-8").strip() == "0" and asked == ran:
            shutil.copyfile(prepare / "output.json", Path(hook_dir, "output.json"))
            return True
        shutil.rmtree(self.metadata_dir, ignore_errors=True)
        self.metadata_dir.mkdir()
        return False


@dataclass
class _Build:
    """One sdist's metadata build: its hooks, their processes and its deadline."""

    source_dir: Path
    system: BuildSystem
    environments: BuildEnvironments
    deadline: float
    timeout: float

    @property
    def merges(self) -> bool:
        """Both hooks from one interpreter start: needs ``fork``; an in-tree backend
        (``backend-path``) is imported the ordinary way."""
        return hasattr(os, "fork") and not self.system.backend_path

    def metadata(self, expect: tuple[str, ...] | None) -> bytes | None:
        """Run the hooks.  ``expect``: a hint (:func:`prepare_metadata`): run them in the
        environment with these requirements added, and only if the first hook asks for
        them (else None)."""
        system, environments = self.system, self.environments
        env = environments.get(system.requires + (expect or ()))
        with tempfile.TemporaryDirectory(prefix="ftlock-metadata-") as tmp:
            metadata_dir = Path(tmp, "metadata")
            metadata_dir.mkdir()
            plan = _Plan(Path(tmp, "control"), metadata_dir, system.requires, expect or ()) if self.merges else None
            extra = _call(self.caller(env, plan).get_requires_for_build_wheel, system)
            if not isinstance(extra, list) or not all(isinstance(r, str) for r in extra):
                raise BuildFailed("the backend's get_requires_for_build_wheel did not return a list of requirements")
            prepared = plan is not None and plan.prepared()  # where PEP 517 runs it (see _Plan)
            if expect is not None:
                if not prepared:
                    environments.learn(system.requires, ())  # a wrong hint: no more of them
                    return None
            else:
                unmet = bool(extra) and not env.satisfies(extra)
                environments.learn(system.requires, tuple(extra) if unmet else ())
                if unmet and not prepared:
                    env, plan = environments.get(system.requires + tuple(extra)), None
            caller = self.caller(env, plan)
            name = _call(lambda: caller.prepare_metadata_for_build_wheel(str(metadata_dir)), system)
            try:
                return (metadata_dir / str(name) / "METADATA").read_bytes()
            except OSError:
                raise BuildFailed(f"the backend wrote no METADATA into {name!r}") from None

    def caller(self, env: BuildEnv, plan: _Plan | None):
        from pyproject_hooks import BuildBackendHookCaller

        try:
            return BuildBackendHookCaller(
                str(self.source_dir),
                self.system.backend,
                list(self.system.backend_path) or None,
                runner=self.runner(env, plan),
                python_executable=str(env.python),
            )
        except ValueError as exc:  # backend-path outside the source tree
            raise BuildFailed(f"invalid backend-path in pyproject.toml ({exc})") from None

    def runner(self, env: BuildEnv, plan: _Plan | None):
        """A ``pyproject_hooks`` subprocess runner; with a plan, the first hook's process is
        the driver's, and the second hook's is the driver's output replayed."""

        def run(cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None) -> None:
            hook = cmd[2] if len(cmd) > 3 else "?"
            if plan is not None and hook == "get_requires_for_build_wheel":
                self.execute(plan.driver(cmd), cwd, extra_environ, env, f"{hook}, then maybe the next")
                if not plan.fell_back():
                    return
            elif plan is not None and hook == "prepare_metadata_for_build_wheel" and plan.replay(cmd[3]):
                return
            self.execute(cmd, cwd, extra_environ, env, hook)

        return run

    def execute(
        self, cmd: Sequence[str], cwd: str | None, extra_environ: Mapping[str, str] | None, env: BuildEnv,
        what: str,
    ) -> None:
        """One hook process: the environment's interpreter, output captured (logged at debug
        level, summarised on failure), the build's deadline kept, the process known to the
        build environments so that the end of the solve can stop it."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise BuildFailed(f"the build did not finish within {self.timeout:.0f}s")
        if self.environments.closed:
            raise BuildFailed("stopped: the solve is over")
        try:
            process = subprocess.Popen(
                list(cmd), cwd=cwd, env=env.environ(extra_environ), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=_SESSIONS,
            )
        except OSError as exc:
            raise BuildFailed(f"cannot run the build environment's interpreter ({exc.strerror})") from None
        self.environments.started(process)
        try:
            stdout, _ = process.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            stop(process)
            process.communicate()
            raise BuildFailed(f"the build did not finish within {self.timeout:.0f}s") from None
        except BaseException:  # KeyboardInterrupt: nothing may outlive ftlock
            stop(process)
            process.wait()
            raise
        finally:
            self.environments.finished(process)
        output = stdout.decode("utf-8", "replace")
        log.debug("build backend output (%s):\n%s", what, output)
        if process.returncode != 0:
            if self.environments.closed:  # killed by close(): the backend did not fail
                raise BuildFailed("stopped: the solve is over")
            raise BuildFailed(describe_failure(output, process.returncode))


def stop(process: subprocess.Popen) -> None:
    """Kill a hook's process and what it started (the driver's children, a compiler run
    by a setup.py): on POSIX they share the session it leads."""
    if process.returncode is not None:  # reaped: its id may be another's now
        return
    try:
        if _SESSIONS:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except OSError:  # gone meanwhile
        pass


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
