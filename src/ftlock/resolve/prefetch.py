"""Speculation ahead of the solver: metadata futures per candidate, and the walk that
fetches the pages and metadata the solver is likely to ask for next.

resolvelib asks one question at a time; these classes make sure the answer is usually
already in memory when it does (see :mod:`ftlock.resolve.engine`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

from ftlock.distribution.metadata import MetadataFetcher
from ftlock.errors import FtlockError
from ftlock.index.client import IndexClient
from ftlock.index.models import Metadata
from ftlock.resolve.candidates import PYTHON, Candidate, CandidateFinder, Requirement
from ftlock.resolve.direct import DirectResolver
from ftlock.resolve.provider import target_dependencies
from ftlock.resolve.target import Target


class MetadataService:
    """Memoised, thread-safe metadata per candidate, fetched in the pool when prefetched."""

    def __init__(
        self, fetcher: MetadataFetcher, submit: Callable[..., Future], direct: DirectResolver
    ) -> None:
        self.fetcher = fetcher
        self.submit = submit
        self.direct = direct
        self._lock = threading.Lock()
        self._futures: dict[tuple[str, str], Future[Metadata]] = {}

    def future(self, candidate: Candidate) -> Future[Metadata]:
        key = (candidate.name, str(candidate.version))
        with self._lock:
            found = self._futures.get(key)
            if found is None:
                found = self.submit(self._fetch, candidate)
                self._futures[key] = found
            return found

    def _fetch(self, candidate: Candidate) -> Metadata:
        if candidate.url:
            return self.direct.metadata[candidate.url]
        return self.fetcher.get(candidate.name, CandidateFinder.metadata_file(candidate))

    def __call__(self, candidate: Candidate) -> Metadata:
        if candidate.url:
            return self.direct.metadata[candidate.url]
        return self.future(candidate).result()


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
    ) -> None:
        self.index = index
        self.finder = finder
        self.metadata = metadata
        self.target = target
        self.submit = submit
        self.limit = limit
        self.walk_ahead = walk_ahead
        self._seen: set[tuple[str, str]] = set()
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
                elif not other.yanked and any(f.is_wheel for f in other.files):
                    self.metadata.future(other)
                    ahead += 1
                    if ahead >= self.walk_ahead:
                        return
        except (FtlockError, RuntimeError):  # the solver reports errors; the pool may be shut
            return

    def candidates_found(self, identifier: str, found: list[Candidate]) -> None:
        if found and not found[0].url and any(f.is_wheel for f in found[0].files):
            self.metadata.future(found[0])

    def dependencies_found(self, candidate: Candidate, deps: list[Requirement]) -> None:
        for dep in deps:
            self.requirement(dep)

    def requirement(self, dep: Requirement) -> None:
        # a conflict rule's "not in range, if installed" never brings a package in: do not
        # fetch pages for it (it would walk deepspeed, vllm, … for every transformers solve)
        if dep.name == PYTHON or dep.url or dep.optional or self.stopped:
            return
        key = (dep.identifier, str(dep.specifier))
        with self._lock:
            if key in self._seen or len(self._seen) >= self.limit:
                return
            self._seen.add(key)
        try:
            page = self.index.prefetch(dep.name)
        except RuntimeError:  # pool shut down: the solve is over
            return
        # Never block a pool thread on another pool task: continue when the page is here.
        page.add_done_callback(lambda f: self._after_page(f, dep))

    def _after_page(self, page: Future, dep: Requirement) -> None:
        if self.stopped or page.exception() is not None:
            return  # the solver will ask again and report errors properly
        best = next(
            (
                c
                for c in self.finder.candidates(dep.name)
                if not c.yanked and dep.specifier.contains(c.version) and c.files
            ),
            None,
        )
        if best is None or not any(f.is_wheel for f in best.files):
            return  # never build an sdist speculatively: the solver may not need it
        try:
            future = self.metadata.future(best)
        except RuntimeError:
            return
        future.add_done_callback(lambda f: self._expand(f, dep.extras))

    def _expand(self, future: Future[Metadata], extras: frozenset[str]) -> None:
        if self.stopped or future.exception() is not None:
            return
        metadata = future.result()
        reqs = target_dependencies(metadata, frozenset(), self.target)
        if extras:
            reqs += target_dependencies(metadata, extras, self.target)
        for req in reqs:
            self.requirement(Requirement.from_pep508(req))
