"""Specification: :class:`ftlock.index.client.IndexClient` fetches each page once, whoever
asks, and never makes the solver wait for a page nobody has started on.

The walk ahead of the solver queues pages and metadata in a shared pool; a page the
solver then needs may sit behind dozens of guesses.  The thread that asks with
``project()`` fetches a page no other thread has taken, right away; a page another thread
is fetching is waited for, not fetched twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

from ftlock.index.cache import Cache, FetchPolicy
from ftlock.index.client import IndexClient
from ftlock.index.http import Http
from tests.support.dists import build_wheel


class HeldPool:
    """A pool whose work waits until released: what a queue full of guesses looks like
    from a page at its back."""

    def __init__(self) -> None:
        self.queued: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[None]:
        self.queued.append((fn, args))
        return Future()

    def release(self) -> None:
        for fn, args in self.queued:
            fn(*args)


@pytest.fixture
def index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    idx = local_index()
    idx.add(build_wheel(dists_dir, "demo", "1.0"))
    return idx


@pytest.fixture
def client(index, tmp_path):  # type: ignore[no-untyped-def]
    pool = HeldPool()
    http = Http(retries=0, load_trust=False)
    made = IndexClient((index.url,), http, Cache(tmp_path / "cache"), FetchPolicy(), submit=pool.submit)
    made.pool = pool  # type: ignore[attr-defined]
    yield made
    http.close()


def test_a_page_queued_behind_other_work_is_fetched_by_the_thread_that_needs_it(client, index):
    prefetched = client.prefetch("demo")
    assert index.count("/simple/demo/") == 0  # queued, not started

    page = client.project("demo")

    assert [f.filename for f in page.files] == ["demo-1.0-py3-none-any.whl"]
    assert prefetched.result(timeout=0) is page
    client.pool.release()  # the queued job finds the page taken: no second request
    assert index.count("/simple/demo/") == 1


def test_callbacks_on_a_page_fetched_by_the_asking_thread_run_before_it_returns(client):
    """The callbacks run in the thread that fetched the page; here that is the asking
    thread, so they must not need anything it holds (the candidate finder asks for the
    page before taking its own lock for it)."""
    seen: list[str] = []
    client.prefetch("demo").add_done_callback(lambda done: seen.append(threading.current_thread().name))

    client.project("demo")

    assert seen == [threading.current_thread().name]


def test_a_page_another_thread_is_fetching_is_waited_for_not_fetched_again(client, index):
    client.prefetch("demo")
    fetcher = threading.Thread(target=client.pool.release)
    fetcher.start()
    page = client.project("demo")
    fetcher.join(5)

    assert page.name == "demo"
    assert index.count("/simple/demo/") == 1


def test_a_prefetch_after_the_pool_is_shut_fails_and_leaves_the_page_to_the_solver(index, tmp_path):
    def shut(fn: Callable[..., Any], *args: Any) -> Future[None]:
        raise RuntimeError("cannot schedule new futures after shutdown")

    http = Http(retries=0, load_trust=False)
    try:
        client = IndexClient((index.url,), http, Cache(tmp_path / "c"), FetchPolicy(), submit=shut)
        with pytest.raises(RuntimeError):
            client.prefetch("demo")
        with pytest.raises(RuntimeError):  # the page's future carries the pool's error
            client.project("demo")
    finally:
        http.close()
