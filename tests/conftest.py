"""Shared fixtures: distribution builders and a local package index.

Tests never talk to a public registry; they build real wheels/sdists with
``tests.support.dists`` and serve them from ``tests.support.index_server``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
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

from tests.support.dists import build_wheel  # noqa: E402
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


@pytest.fixture
def proxies():  # type: ignore[no-untyped-def]
    """Factory for started :class:`~tests.support.faults.FaultProxy` servers in front of an
    upstream index (``proxies(upstream, **options)``), stopped at teardown."""
    from tests.support.faults import FaultProxy

    started: list[FaultProxy] = []

    def make(upstream, **options):  # type: ignore[no-untyped-def]
        proxy = FaultProxy(upstream, **options).start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()


@pytest.fixture(autouse=True)
def isolated_pip_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests see no pip configuration, index variables or proxies of the machine."""
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONSTRAINT"):
        monkeypatch.delenv(var, raising=False)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    lock: str | None  # content of -o FILE when it exists


@pytest.fixture
def ftlock(tmp_path: Path) -> Callable[..., CliResult]:
    """Run ``ftlock ARGS`` in-process with an isolated cache and a fixed target.

    ``ftlock("solve", "demo", index=idx)`` adds ``--index-url idx.url`` and
    ``--cache-dir`` (shared by every call in one test, so cache reuse is testable),
    ``--python 3.11 --platform linux_x86_64`` unless given, and ``-o <tmp>/out.txt`` unless
    ``-o`` is given.  The result carries exit code, stdout, stderr and the lock's text.
    """
    from click.testing import CliRunner

    from ftlock.cli import main

    cache = tmp_path / "cache"

    def run(*args: str, index: LocalIndex | None = None, output: Path | None = None) -> CliResult:
        argv = list(args)
        if argv and argv[0] == "solve":
            if index is not None:
                argv += ["--index-url", index.url]
            if "--cache-dir" not in argv and "--no-cache" not in argv:
                argv += ["--cache-dir", str(cache)]
            if "--python" not in argv:
                argv += ["--python", "3.11"]
            if "--platform" not in argv:
                argv += ["--platform", "linux_x86_64"]
            if "-o" not in argv and "--output" not in argv:
                out = output or tmp_path / "out.txt"
                argv += ["-o", str(out)]
        out_path = Path(argv[argv.index("-o") + 1]) if "-o" in argv else None
        result = CliRunner().invoke(main, argv, catch_exceptions=False)
        lock = None
        if out_path is not None and str(out_path) != "-" and out_path.exists():
            lock = out_path.read_text()
        return CliResult(result.exit_code, result.stdout, result.stderr, lock)

    return run


@pytest.fixture
def app_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    """app 1.0 -> lib>=1 (two lib versions), PEP 658 metadata, ETags."""
    index = local_index(pep658=True)
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["lib>=1"]))
    index.add(build_wheel(dists_dir, "lib", "1.0"))
    index.add(build_wheel(dists_dir, "lib", "1.1"))
    return index
