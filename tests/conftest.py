"""Shared fixtures: distribution builders and a local package index.

Tests never talk to a public registry; they build real wheels/sdists with
``tests.support.dists`` and serve them from ``tests.support.index_server``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# ``tests/`` has no ``__init__.py`` and pytest (prepend import mode) only puts
# ``tests/`` itself on sys.path, so ``import tests.support`` would fail under a
# plain ``pytest`` invocation.  Making the repository root importable keeps
# ``from tests.support... import ...`` working however pytest is launched.
# (src layout: the root holds no ``ftlock`` package that could shadow the
# installed one.)
_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from tests.support.index_server import LocalIndex  # noqa: E402

IndexFactory = Callable[..., LocalIndex]


def pytest_configure(config: pytest.Config) -> None:
    """Register markers here too, so they exist even without pyproject config."""
    config.addinivalue_line("markers", "live: needs the real configured package index")


@pytest.fixture
def dists_dir(tmp_path: Path) -> Path:
    """An empty directory to build distributions into."""
    path = tmp_path / "dists"
    path.mkdir()
    return path


@pytest.fixture
def local_index() -> Iterator[IndexFactory]:
    """Factory for started :class:`LocalIndex` servers, stopped at teardown.

    ``make_index(**opts)`` takes ``LocalIndex`` keyword options
    (``json``, ``pep658``, ``ranges``, ``etag``); call it more than once for
    multi-index tests.
    """
    started: list[LocalIndex] = []

    def make_index(**opts: object) -> LocalIndex:
        index = LocalIndex(**opts).start()  # type: ignore[arg-type]
        started.append(index)
        return index

    yield make_index
    for index in started:
        index.stop()
