"""The I/O side of one solve — indexes, HTTP pool, cache, candidates, metadata — and the
start of its fetching.

A cold solve used to open its session only once the solver and the knowledge rules were
imported and loaded (the first request went out ~200 ms after start, on a ~0.9 s solve),
with the network idle all that time.  :func:`start` opens the session and sets the
:class:`~ftlock.resolve.prefetch.Prefetcher` walking the named requirements' pages and
metadata first; the front door imports the solver after it, so that work overlaps the
first round trips.  What the walk fetches does not change what the solver decides: it
reads the same pages and metadata, only earlier.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import msgspec
from packaging.specifiers import SpecifierSet

from ftlock.distribution.metadata import MetadataFetcher
from ftlock.index.cache import Cache, default_cache_dir
from ftlock.index.client import IndexClient
from ftlock.index.http import Http
from ftlock.index.settings import IndexSettings
from ftlock.resolve.base import BaseEnvironment, read_python
from ftlock.resolve.buildenv import BuildEnvironments
from ftlock.resolve.candidates import CandidateFinder, Requirement
from ftlock.resolve.direct import DirectResolver
from ftlock.resolve.formats import FormatControl
from ftlock.resolve.inputs import parse_inputs
from ftlock.resolve.prefetch import MetadataService, Prefetcher
from ftlock.resolve.prereleases import policy_for
from ftlock.resolve.reqfile import ParsedInputs
from ftlock.resolve.request import fetch_policy, index_settings
from ftlock.resolve.result import SolveRequest
from ftlock.resolve.target import Target


class Session(msgspec.Struct):
    """The I/O side of one run: indexes, HTTP pool, cache, candidates and metadata.

    Shared by ``solve`` and ``check`` so both read the index the same way.
    """

    target: Target
    settings: IndexSettings
    http: Http
    pool: ThreadPoolExecutor
    index: IndexClient
    finder: CandidateFinder
    direct: DirectResolver
    metadata: MetadataService
    builds: BuildEnvironments  # sdist builds: the same indexes, client and cut-off

    @classmethod
    def open(
        cls,
        request: SolveRequest,
        target: Target,
        inputs: ParsedInputs | None = None,
        settings: IndexSettings | None = None,
    ) -> Session:
        settings = settings or index_settings(request, inputs or ParsedInputs())
        cache_root = None if request.no_cache else (request.cache_dir or default_cache_dir())
        cache = Cache(cache_root)
        cache.hold()  # entries are written behind the solve by one thread (see Cache.hold)
        http = Http(
            cert=settings.cert,
            timeout=request.timeout,
            retries=request.retries,
            max_connections=request.concurrency,
            credentials=settings.credentials,
            insecure_hosts=settings.insecure_hosts,
            # plain-http indexes (a local mirror) load CA certificates only if a file or
            # redirect leads to https
            load_trust=any(not url.startswith(("http:", "file:")) for url in settings.all_urls),
        )
        pool = ThreadPoolExecutor(max_workers=request.concurrency, thread_name_prefix="ftlock")
        policy = fetch_policy(request)
        index = IndexClient(
            settings.urls, http, cache, policy, submit=pool.submit,
            urls_for=settings.urls_for if settings.routes else None,
        )
        formats = FormatControl.from_options((*request.binary, *(inputs.binary if inputs else ())))
        finder = CandidateFinder(index, target, request.exclude_newer, formats)
        builds = BuildEnvironments(http, cache, settings, policy)
        direct = DirectResolver(http, no_build=request.no_build, builds=builds)
        fetcher = MetadataFetcher(
            http, cache, no_build=request.no_build, offline=request.offline, builds=builds
        )
        metadata = MetadataService(fetcher, pool.submit, direct)
        return cls(target, settings, http, pool, index, finder, direct, metadata, builds)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.metadata.close()  # sdist builds queued ahead of the solver: dropped
        self.builds.close()  # and those running: stopped
        self.index.cache.flush()
        self.http.close()


class Started(msgspec.Struct):
    """A solve whose fetching is under way: its session, the walk, and the inputs parsed
    for the target (requirements with each one's origin, constraints per project)."""

    session: Session
    prefetcher: Prefetcher
    requirements: list[Requirement]
    origins: list[str]
    constraints: dict[str, SpecifierSet]
    base: BaseEnvironment | None  # --base / --base-python, read before anything is fetched
    at: float  # time.perf_counter() when it started: the solve's own time counts from here


def start(request: SolveRequest, target: Target, inputs: ParsedInputs, settings: IndexSettings) -> Started:
    """Parse the inputs, open the session and start walking what the named requirements
    need (direct references are resolved later, by the engine)."""
    at = time.perf_counter()
    requirements, origins, constraints = parse_inputs(inputs, target)
    base = open_base(request)  # bad input fails before the first request
    session = Session.open(request, target, inputs, settings)
    try:
        prefetcher = Prefetcher(
            session.index, session.finder, session.metadata, target, session.pool.submit,
            prerelease=policy_for(request.prerelease, inputs.pre),
        )
        for req in requirements:
            prefetcher.requirement(req, needed=True)  # a direct reference is skipped
    except BaseException:
        session.close()
        raise
    return Started(session, prefetcher, requirements, origins, constraints, base, at)


def open_base(request: SolveRequest) -> BaseEnvironment | None:
    """The environment to solve on top of (``--base`` or ``--base-python``), if any."""
    if request.base is not None:
        return BaseEnvironment.from_freeze(request.base, keep=request.keep_base)
    if request.base_python is not None:
        return BaseEnvironment(read_python(request.base_python), keep=request.keep_base)
    return None

