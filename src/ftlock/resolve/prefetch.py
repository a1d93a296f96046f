"""Speculation ahead of the solver: metadata futures per candidate, and the walk that
fetches the pages and metadata the solver is likely to ask for next.

resolvelib asks one question at a time; these classes make sure the answer is usually
already in memory when it does (see :mod:`ftlock.resolve.engine`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import msgspec
from packaging.specifiers import SpecifierSet

from ftlock.distribution.metadata import MetadataFetcher
from ftlock.errors import FtlockError
from ftlock.index.client import IndexClient
from ftlock.index.models import Metadata
from ftlock.resolve.candidates import PYTHON, Candidate, CandidateFinder, Requirement
from ftlock.resolve.direct import DirectResolver
from ftlock.resolve.prereleases import DEFAULT, Prerelease, likely_pick
from ftlock.resolve.provider import target_requirements
from ftlock.resolve.target import Target


def build_slots() -> int:
    """How many sdist builds may run ahead of the solver at once: one per CPU this process
    may use.  A metadata build is mostly a Python interpreter running a setup.py, so more
    would only make each one slower, including the one the solver is waiting for."""
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+: honours the affinity
    if counter is not None:
        return max(1, counter() or 1)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


class _Job(msgspec.Struct):
    """One candidate's metadata: the future everyone waits on, and whether some thread
    has taken the work (so that a job queued ahead of the solver can be run by the solver
    itself when it gets there first, instead of waiting its turn in the queue)."""

    future: Future[Metadata] = msgspec.field(default_factory=Future)
    claimed: bool = False


class MetadataService:
    """Memoised, thread-safe metadata per candidate, fetched in the pool when prefetched.

    Each candidate's metadata is fetched (or built) at most once, whoever asks: the solver
    (in its own thread), the speculative walk (in the pool), or :meth:`build_ahead` (in a
    pool of its own, one thread per CPU, for sdists that need a PEP 517 build).  A failure
    stays in the job's future: it reaches the user only if the solver asks for that metadata.
    """

    def __init__(
        self,
        fetcher: MetadataFetcher,
        submit: Callable[..., Future],
        direct: DirectResolver,
        build_workers: int | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.submit = submit
        self.direct = direct
        self._lock = threading.Lock()
        self._jobs: dict[tuple[str, str], _Job] = {}
        self._build_workers = build_workers or build_slots()
        self._builds: ThreadPoolExecutor | None = None  # started by the first build_ahead
        self._closed = False

    def future(self, candidate: Candidate) -> Future[Metadata]:
        """The candidate's metadata, fetched in the shared pool unless already under way."""
        job, new = self._job(candidate)
        if new:
            self.submit(self._run, job, candidate)  # RuntimeError once the pool is shut
        return job.future

    def build_ahead(self, candidate: Candidate) -> Future[Metadata]:
        """Like :meth:`future`, for a candidate whose only files are sdists: the build runs
        in the bounded build pool, never in the shared one, whose threads fetch pages."""
        job, new = self._job(candidate)
        if new:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the solve is over")
                if self._builds is None:
                    self._builds = ThreadPoolExecutor(self._build_workers, thread_name_prefix="ftlock-build")
                builds = self._builds
            builds.submit(self._run, job, candidate)
        return job.future

    def __call__(self, candidate: Candidate) -> Metadata:
        """The solver's question: answered from the job when a thread has taken it, else
        fetched (or built) right here rather than queued behind speculative work."""
        if candidate.url:
            return self.direct.metadata[candidate.url]
        job, _ = self._job(candidate)
        self._run(job, candidate)
        return job.future.result()

    def close(self) -> None:
        """Drop the builds still queued (running ones are stopped by the build environments'
        own ``close``); nothing waits for them."""
        with self._lock:
            self._closed = True
            builds, self._builds = self._builds, None
        if builds is not None:
            builds.shutdown(wait=False, cancel_futures=True)

    def _job(self, candidate: Candidate) -> tuple[_Job, bool]:
        key = (candidate.name, str(candidate.version))
        with self._lock:
            found = self._jobs.get(key)
            if found is not None:
                return found, False
            job = self._jobs[key] = _Job()
            return job, True

    def _run(self, job: _Job, candidate: Candidate) -> None:
        """Do the job unless a thread has taken it already; its outcome, error included,
        goes to its future, for whoever asks."""
        with self._lock:
            if job.claimed:
                return
            job.claimed = True
        try:
            job.future.set_result(self._fetch(candidate))
        except BaseException as exc:  # noqa: BLE001 - re-raised by .result() to whoever asks
            job.future.set_exception(exc)

    def _fetch(self, candidate: Candidate) -> Metadata:
        if candidate.url:
            return self.direct.metadata[candidate.url]
        return self.fetcher.get(candidate.name, CandidateFinder.metadata_file(candidate))


class Prefetcher:
    """Speculatively walks the likely dependency graph ahead of the solver."""

    def __init__(
        self,
        index: IndexClient,
        finder: CandidateFinder,
        metadata: MetadataService,
        target: Target,
        submit: Callable[..., Future],
        limit: int = 3000,
        walk_ahead: int = 8,
        prerelease: Prerelease = DEFAULT,
    ) -> None:
        self.index = index
        self.finder = finder
        self.metadata = metadata
        self.target = target
        self.submit = submit
        self.limit = limit
        self.walk_ahead = walk_ahead
        self.prerelease = prerelease
        self._seen: set[tuple[str, str]] = set()  # walked
        #: per project, every version range the walk met so far, intersected (see
        #: :meth:`_guess`)
        self._ranges: dict[str, SpecifierSet] = {}
        self._expanded: set[tuple[str, str, frozenset[str]]] = set()  # versions walked into
        self._needed: set[tuple[str, str]] = set()  # the solver's own, built if sdist-only
        self._lock = threading.Lock()
        self.stopped = False

    def rejected(self, candidate: Candidate) -> None:
        """The solver is stepping down ``candidate``'s versions and will ask for the next
        ones' metadata one at a time: fetch a few ahead, in parallel, now."""
        if self.stopped or not isinstance(candidate, Candidate) or candidate.url:
            return
        ahead = 0
        passed = False
        try:
            for other in self.finder.candidates(candidate.name):
                if not passed:
                    passed = other.version == candidate.version
                elif (
                    not other.yanked
                    and (self.prerelease == "allow" or candidate.version.is_prerelease or not other.version.is_prerelease)
                    and any(f.is_wheel for f in other.files)
                ):
                    self.metadata.future(other)
                    ahead += 1
                    if ahead >= self.walk_ahead:
                        return
        except (FtlockError, RuntimeError):  # the solver reports errors; the pool may be shut
            return

    def candidates_found(self, identifier: str, found: list[Candidate]) -> None:
        """The solver is about to try ``found[0]``: its metadata is wanted now."""
        if not found or found[0].url or self.stopped:
            return
        try:
            if any(f.is_wheel for f in found[0].files):
                self.metadata.future(found[0])
            else:
                self.metadata.build_ahead(found[0])
        except RuntimeError:  # the pools are shut: the solve is over
            return

    def dependencies_found(self, candidate: Candidate, deps: list[Requirement]) -> None:
        for dep in deps:
            self.requirement(dep, needed=True)

    def requirement(self, dep: Requirement, needed: bool = False) -> None:
        """Fetch ``dep``'s page, then the metadata of the version the solver will most likely
        pick, then walk on into that version's own requirements.

        ``needed``: the requirement is the user's or that of a candidate the solver has
        decided on, not one the walk guessed its way to.  Only then is an sdist-only version
        built ahead of the solver: a PEP 517 build costs a CPU for a second or more, too
        much to spend on guesses of guesses, but the solver asks for the metadata of nearly
        every such requirement soon, and waiting for each build in turn is what made solves
        with a dozen legacy sdists several times slower than they need be.
        """
        # a conflict rule's "not in range, if installed" never brings a package in: do not
        # fetch pages for it (it would walk deepspeed, vllm, … for every transformers solve)
        if dep.name == PYTHON or dep.url or dep.optional or self.stopped:
            return
        key = (dep.identifier, str(dep.specifier))
        with self._lock:
            walk = key not in self._seen and len(self._seen) < self.limit
            build = needed and key not in self._needed
            if walk:
                self._seen.add(key)
            if build:
                self._needed.add(key)
        if not (walk or build):
            return
        try:
            page = self.index.prefetch(dep.name)
        except RuntimeError:  # pool shut down: the solve is over
            return
        # Never block a pool thread on another pool task: continue when the page is here.
        page.add_done_callback(lambda f: self._after_page(f, dep, walk, build))

    def _after_page(self, page: Future, dep: Requirement, walk: bool, build: bool) -> None:
        if self.stopped or page.exception() is not None:
            return  # the solver will ask again and report errors properly
        best = self._guess(dep)
        if best is None:
            return
        sdist_only = not any(f.is_wheel for f in best.files)
        if sdist_only and not build:
            return  # a guess: built only once the solver itself needs the requirement
        try:
            future = self.metadata.build_ahead(best) if sdist_only else self.metadata.future(best)
        except RuntimeError:
            return
        if walk or sdist_only:  # an sdist's requirements were not walked when first seen
            future.add_done_callback(lambda f: self._expand(f, best, dep.extras))

    def _guess(self, dep: Requirement) -> Candidate | None:
        """The version the solver will most likely pick for ``dep``'s project: the newest
        allowed by every range the walk has met for it so far, by the solver's pre-release
        rule.

        One requirement alone guesses too high: unsloth caps ``torch<2.15``, but
        accelerate's ``torch>=2.0`` alone picked torch 2.15.0, and the walk fetched its
        metadata and a CUDA 13 stack (two dozen requests) the solver never asked for.  When
        the ranges met so far leave nothing (one came from a wrong guess), this requirement
        starts them over."""
        with self._lock:
            known = self._ranges.get(dep.name)
            ranges = dep.specifier if known is None else known & dep.specifier
            self._ranges[dep.name] = ranges
        best = self._newest(dep.name, ranges)
        if best is None and known is not None:
            with self._lock:
                self._ranges[dep.name] = dep.specifier
            best = self._newest(dep.name, dep.specifier)
        return best

    def _newest(self, name: str, ranges: SpecifierSet) -> Candidate | None:
        # the solver's pre-release rule: packaging 26's ``contains`` admits pre-releases,
        # and guessing one (einops 0.9.0.dev0 for ``einops``) fetched metadata, pages and
        # a whole walk the solver never used
        matching = (
            c
            for c in self.finder.candidates(name)
            if not c.yanked and ranges.contains(c.version, prereleases=True) and c.files
        )
        return likely_pick(self.prerelease, ranges, matching)

    def _expand(self, future: Future[Metadata], candidate: Candidate, extras: frozenset[str]) -> None:
        if self.stopped or future.exception() is not None:
            return
        key = (candidate.name, str(candidate.version), extras)
        with self._lock:
            if key in self._expanded:  # reached again by another range: walked already
                return
            self._expanded.add(key)
        metadata = future.result()
        reqs = target_requirements(metadata, frozenset(), self.target)
        if extras:
            reqs += target_requirements(metadata, extras, self.target)
        for req in reqs:
            self.requirement(req)
