"""Isolated build environments whose every file came from the solve's own indexes.

A PEP 517 metadata build needs its build requirements (setuptools, wheel, …) installed.
pip would fetch them from pip's configuration, today's versions: a solve of 2023 would
build with today's setuptools, and a user whose only index is private could not build at
all.  So ftlock does what uv does: it resolves the build requirements with its own solver
(same indexes, credentials and insecure-host settings, same ``--exclude-newer`` cut-off,
target = the interpreter that runs the build), downloads exactly those wheels through the
same HTTP client, checks each against the index's sha256, and unpacks them into a fresh
virtual environment (:mod:`ftlock.distribution.wheelinstall`).

Only wheels are candidates: building a build requirement from source would need a build
environment of its own, recursively, for something every common backend publishes as a
wheel.

Environments are cached under ftlock's cache directory, keyed by the interpreter and the
exact pins (with their hashes): the pins determine the environment's content, so any two
builds whose requirements resolve to the same set share one environment, across sdists
and across runs.  A lock file per environment serialises concurrent builders (threads or
processes); an environment is used only once its completion marker is written.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import venv
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec
from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PkgRequirement
from packaging.version import Version
from resolvelib import BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from ftlock.errors import MetadataError, OfflineMissing, ProjectNotFound
from ftlock.index.cache import Cache, FetchPolicy
from ftlock.resolve.candidates import PYTHON, Candidate, CandidateFinder, Requirement
from ftlock.index.http import Http
from ftlock.index.client import IndexClient
from ftlock.index.settings import IndexSettings
from ftlock.distribution.metadata import MetadataFetcher
from ftlock.index.models import DistFile, Metadata
from ftlock.resolve.provider import Provider
from ftlock.resolve.target import PlatformTarget, PythonTarget, Target
from ftlock.distribution.wheelinstall import Scheme, install_wheel

log = logging.getLogger("ftlock.resolver.buildenv")  # the name users see in -v output; kept across the move

#: Written last into a finished environment: its absence means "half built, start over".
MARKER = "ftlock-build-env.json"
#: Variables that would let the parent's packages leak into the isolated environment.
_LEAKY = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__")

class BuildEnv(msgspec.Struct, frozen=True):
    """One finished environment: its interpreter and what is installed in it."""

    root: Path
    python: Path
    scripts: Path
    pins: tuple[tuple[str, str], ...]  # (canonical name, version)

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment variables a hook runs with: ours, minus what would break the
        isolation, with the environment's scripts first on PATH (as pip and build do).

        Bytecode is written even where the user's environment says not to: the files are
        ftlock's own cached environment and a temporary source tree, and without it every
        hook of every sdist compiles setuptools from source again (0.1 s of CPU a hook)."""
        env = {k: v for k, v in os.environ.items() if k not in _LEAKY and k != "PYTHONDONTWRITEBYTECODE"}
        env["PATH"] = os.pathsep.join(p for p in (str(self.scripts), env.get("PATH", "")) if p)
        env["VIRTUAL_ENV"] = str(self.root)
        env["PYTHONNOUSERSITE"] = "1"
        env.update(extra or {})
        return env

    def satisfies(self, requirements: Sequence[str]) -> bool:
        """Whether every requirement (for this interpreter) is met by what is installed:
        then ``get_requires_for_build_wheel``'s answer needs no second environment."""
        installed = {name: Version(version) for name, version in self.pins}
        for req in _applicable(requirements, _running_target()):
            have = installed.get(req.name)
            if have is None or req.extras or not req.specifier.contains(have, prereleases=True):
                return False
        return True


@functools.lru_cache(maxsize=1)
def _running_target() -> Target:
    """The interpreter that runs the builds (ftlock's own), exactly."""
    return Target(PythonTarget(tuple(sys.version_info[:3])), PlatformTarget.running())


def _applicable(requirements: Sequence[str], target: Target) -> list[Requirement]:
    """Parsed build requirements whose markers hold on ``target``."""
    out = []
    for text in requirements:
        try:
            req = PkgRequirement(text)
            if req.marker is not None and not req.marker.evaluate({**target.markers, "extra": ""}):
                continue
        except (InvalidRequirement, InvalidMarker) as exc:
            raise MetadataError(f"invalid build requirement {text!r}: {str(exc).splitlines()[0]}") from None
        if req.url:
            raise MetadataError(f"build requirement {text!r} is a direct reference, which ftlock does not install")
        out.append(Requirement.from_pep508(req, text.strip()))
    return out


class _WheelFinder(CandidateFinder):
    """Build requirements are installed, never built: only wheels are candidates."""

    def _usable(self, file: DistFile) -> bool:
        return file.is_wheel and super()._usable(file)


class BuildEnvironments:
    """Build environments for one session, resolved and installed on first use.

    Cheap to create: nothing happens until an sdist actually needs a build.
    """

    def __init__(
        self, http: Http, cache: Cache, settings: IndexSettings, policy: FetchPolicy
    ) -> None:
        self.http = http
        self.cache = cache
        self.settings = settings
        self.policy = policy
        self.target = _running_target()
        self._lock = threading.Lock()
        self._memo: dict[tuple[str, ...], BuildEnv] = {}
        self._making: dict[tuple[str, ...], threading.Lock] = {}  # one maker per key
        self._running: set[subprocess.Popen] = set()  # hook processes, stopped at close
        self._hints: dict[tuple[str, ...], tuple[str, ...]] = {}  # see hint()
        self.closed = False
        self._finder: CandidateFinder | None = None
        self._fetcher: MetadataFetcher | None = None
        self._tmp: str | None = None  # the environments' home when the cache is disabled

    # -- public ----------------------------------------------------------------------------
    def get(self, requirements: Sequence[str]) -> BuildEnv:
        """An environment with ``requirements`` installed (resolved for this interpreter).

        Concurrent builds asking for the same requirements wait for one resolution rather
        than each resolving them (the install itself is serialised by a file lock anyway)."""
        key = tuple(sorted({r.strip() for r in requirements if r.strip()}))
        with self._lock:
            found = self._memo.get(key)
            making = self._making.setdefault(key, threading.Lock())
        if found is not None:
            return found
        with making:
            with self._lock:
                found = self._memo.get(key)
            if found is not None:
                return found
            if self.closed:
                raise MetadataError("the solve is over")
            env = self._materialise(self._resolve(key))
            with self._lock:
                return self._memo.setdefault(key, env)

    def hint(self, requires: Sequence[str]) -> tuple[str, ...] | None:
        """What ``get_requires_for_build_wheel`` has returned, this session, for every build
        with these ``[build-system]`` requirements, when their environment lacked it (old
        setuptools: ``wheel``); None when nothing is known, or the answers differed."""
        with self._lock:
            return self._hints.get(tuple(sorted(requires))) or None

    def learn(self, requires: Sequence[str], unmet: tuple[str, ...]) -> None:
        """Record one build's answer: ``unmet`` what it asked for beyond its environment
        (nothing when the environment had it all).  Once two answers differ, no hint."""
        key, answer = tuple(sorted(requires)), tuple(sorted(set(unmet)))
        with self._lock:
            seen = self._hints.setdefault(key, answer)
            if seen != answer:
                self._hints[key] = ()

    def started(self, process: subprocess.Popen) -> None:
        """Track a hook's process, so that :meth:`close` can stop it; one started after
        the close is stopped at once."""
        with self._lock:
            if not self.closed:
                self._running.add(process)
                return
        _stop(process)

    def finished(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._running.discard(process)

    def close(self) -> None:
        """Stop the hooks still running (builds started ahead of the solver that it no
        longer needs: the process would otherwise wait for them at exit) and remove the
        temporary environments."""
        with self._lock:
            self.closed = True
            running, self._running = list(self._running), set()
        for process in running:
            _stop(process)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- resolution ------------------------------------------------------------------------
    def _tools(self) -> tuple[CandidateFinder, MetadataFetcher]:
        with self._lock:
            if self._finder is None or self._fetcher is None:
                # no thread pool: the caller is itself a pool thread, and a handful of
                # pages fetched in turn cannot deadlock waiting on a saturated pool
                index = IndexClient(
                    self.settings.urls, self.http, self.cache, self.policy,
                    urls_for=self.settings.urls_for if self.settings.routes else None,
                )
                self._finder = _WheelFinder(index, self.target, self.policy.exclude_newer)
                self._fetcher = MetadataFetcher(self.http, self.cache, no_build=True, offline=self.policy.offline)
            return self._finder, self._fetcher

    def _resolve(self, requirements: tuple[str, ...]) -> list[tuple[Candidate, DistFile]]:
        reqs = _applicable(requirements, self.target)
        if not reqs:
            return []
        finder, fetcher = self._tools()

        def metadata(candidate: Candidate) -> Metadata:
            return fetcher.get(candidate.name, CandidateFinder.metadata_file(candidate))

        provider = Provider(finder, metadata, self.target, reqs)
        shown = ", ".join(r.describe() for r in reqs)
        try:
            result = Resolver(provider, BaseReporter()).resolve(reqs, max_rounds=10_000)
        except ProjectNotFound as exc:
            raise MetadataError(f"cannot install its build requirements ({shown}): {exc}") from None
        except ResolutionImpossible as exc:
            causes = sorted({c.requirement.describe() for c in exc.causes if c.requirement.name != PYTHON})
            cutoff = self.policy.exclude_newer
            when = f" uploaded before {cutoff.isoformat()}" if cutoff is not None else ""
            raise MetadataError(
                f"cannot install its build requirements ({shown}): no wheels{when} on the "
                f"configured index(es) satisfy {', '.join(causes) or shown} on "
                f"CPython {'.'.join(map(str, sys.version_info[:3]))}"
            ) from None
        except ResolutionTooDeep:
            raise MetadataError(f"cannot install its build requirements ({shown}): the solver gave up") from None
        pins = []
        for identifier, candidate in sorted(result.mapping.items()):
            if identifier == PYTHON or not isinstance(candidate, Candidate) or candidate.extras:
                continue
            wheels = [f for f in candidate.files if f.is_wheel]  # best tag first (finder order)
            pins.append((candidate, wheels[0]))
        return pins

    # -- installation ----------------------------------------------------------------------
    def _home(self) -> Path:
        """``build-envs/`` in the cache; a temporary directory (removed at :meth:`close`)
        when the cache is disabled or cannot be written, which costs speed only."""
        if self.cache.root is not None:
            home = self.cache.root / "build-envs"
            try:
                home.mkdir(parents=True, exist_ok=True)
                if os.access(home, os.W_OK | os.X_OK):
                    return home
            except OSError:
                pass
            log.debug("%s is not writable: build environments go to a temporary directory", home)
        with self._lock:
            if self._tmp is None:
                self._tmp = tempfile.mkdtemp(prefix="ftlock-build-envs-")
            return Path(self._tmp)

    def _materialise(self, pins: list[tuple[Candidate, DistFile]]) -> BuildEnv:
        identity = {
            "python": sys.version,
            "base": os.path.realpath(getattr(sys, "_base_executable", sys.executable)),
            "platform": self.target.platform.name,
            "pins": [[c.name, str(c.version), f.filename, f.sha256] for c, f in pins],
        }
        key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]
        home = self._home()
        root = home / key
        bin_dir = root / ("Scripts" if os.name == "nt" else "bin")
        python = bin_dir / ("python.exe" if os.name == "nt" else "python")
        env = BuildEnv(root, python, bin_dir, tuple((c.name, str(c.version)) for c, _ in pins))
        from filelock import FileLock  # noqa: PLC0415 - 10 ms, only for a build

        with FileLock(str(home / f"{key}.lock")):
            if (root / MARKER).is_file() and python.exists():
                return env
            if self.policy.offline and pins:
                names = ", ".join(f"{c.name}=={c.version}" for c, _ in pins)
                raise OfflineMissing(f"--offline: the build environment ({names}) is not in the cache")
            shutil.rmtree(root, ignore_errors=True)  # a half-built one from a killed run
            log.debug("creating build environment %s: %s", root, env.pins)
            try:
                venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(root)
                scheme = Scheme.of(python, root)
                for _, file in pins:
                    with self._tools()[1].download(file) as wheel:  # hash-checked, streamed
                        install_wheel(wheel, file.filename, scheme)
                (root / MARKER).write_text(json.dumps(identity, indent=1))
            except OSError as exc:  # a full disk, a cache on a read-only mount
                shutil.rmtree(root, ignore_errors=True)
                raise MetadataError(f"cannot create a build environment in {root}: {exc.strerror or exc}") from None
        return env


def _stop(process: subprocess.Popen) -> None:
    """:func:`ftlock.distribution.pep517.stop`, imported only once a build has run: the
    PEP 517 runner (and tomllib) cost 3.5 ms of every solve's start-up, and most solves
    build nothing."""
    from ftlock.distribution.pep517 import stop  # noqa: PLC0415

    stop(process)
