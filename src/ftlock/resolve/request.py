"""What a :class:`~ftlock.resolve.result.SolveRequest` means for the index client: which
indexes to read and how fresh their pages must be.

Both the front door (:mod:`ftlock.resolve.solve`) and the engine's session need these, so
they live below both: the engine must not import the front door that calls it.
"""

from __future__ import annotations

import os

from ftlock.index.cache import FetchPolicy
from ftlock.index.pipconfig import without_pip_environment
from ftlock.index.settings import IndexSettings
from ftlock.resolve.reqfile import ParsedInputs
from ftlock.resolve.result import SolveRequest


def index_settings(request: SolveRequest, inputs: ParsedInputs) -> IndexSettings:
    """Which indexes to read: flags, then the requirement files' options, then pip's config."""
    settings = IndexSettings.discover(
        request.index_url or inputs.index_url,
        tuple(request.extra_index_urls) or tuple(inputs.extra_index_urls),
        # --isolated: neither pip's configuration files nor its PIP_* variables
        environ=without_pip_environment(os.environ) if request.isolated else None,
        config={} if request.isolated else None,
        allow_insecure_hosts=tuple(request.allow_insecure_hosts),
    )
    if request.index_routes:
        settings = settings.with_routes(request.index_routes)
    return settings


def fetch_policy(request: SolveRequest) -> FetchPolicy:
    return FetchPolicy(
        page_ttl=request.page_ttl,
        refresh=request.refresh,
        offline=request.offline,
        exclude_newer=request.exclude_newer,
    )
