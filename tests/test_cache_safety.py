"""Specification: the cache and the output file survive damage, concurrency and kill -9.

* Damaged entries (truncated, garbled, empty: tests/test_cache.py) and entries that are
  intact bytes but not an entry are detected, dropped and refetched.
* Temporary files (a writer killed between write and rename) are never read as entries,
  and are swept once stale.
* Several ``ftlock solve`` processes sharing one cache directory and one output path all
  finish with the same, valid lock; every cache entry they leave is valid.
* A solve killed with SIGKILL mid-run leaves the previous output untouched and nothing that
  breaks the next run.

Concurrency needs no lock: every cache entry and the output are written to a temporary
file and renamed into place (atomic), and what two writers write is the same.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ftlock.index.cache import Cache
from tests.support import entrydb
from tests.support.dists import build_wheel
from tests.support.faults import FaultProxy
from tests.support.locks import pinned as pins


def cache_entries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def temp_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(".*") if p.is_file())


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTLOCK_RETRY_BACKOFF", "0")


@pytest.fixture
def chain_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    """app -> p0 -> p1 -> ... -> p5 (two versions each), PEP 658 metadata."""
    index = local_index(pep658=True)
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["p0"]))
    for i in range(6):
        deps = [f"p{i + 1}>=1"] if i < 5 else []
        index.add(build_wheel(dists_dir, f"p{i}", "1.0", requires_dist=deps))
        index.add(build_wheel(dists_dir, f"p{i}", "1.1", requires_dist=deps))
    return index


EXPECTED_PINS = ["app==1.0"] + [f"p{i}==1.1" for i in range(6)]


@pytest.fixture
def slow_proxy(chain_index):  # type: ignore[no-untyped-def]
    proxy = FaultProxy(chain_index).start()
    yield proxy
    proxy.stop()


def solve_args(index_url: str, cache: Path, out: Path) -> list[str]:
    return [
        "solve", "app", "--index-url", index_url, "--python", "3.11",
        "--platform", "linux_x86_64", "--cache-dir", str(cache), "-o", str(out),
        "--retries", "1", "--timeout", "10",
    ]


def spawn(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "FTLOCK_RETRY_BACKOFF": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "ftlock", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


# --------------------------------------------------------------------------------------
# damaged and stray entries
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [b"[]", b'{"unrelated": true}', b'{"name": "", "version": ""}', b'"just a string"', b"null"],
    ids=["list", "other-object", "empty-name", "string", "null"],
)
def test_an_intact_metadata_entry_that_is_not_metadata_is_dropped_and_refetched(
    chain_index, ftlock, tmp_path, payload
):
    first = ftlock("solve", "app", index=chain_index)
    assert first.exit_code == 0, first.stderr
    wheel = chain_index.get_file("p3-1.1-py3-none-any.whl")
    assert wheel is not None
    key = Cache.url_key(chain_index.file_url(wheel.filename), wheel.sha256)
    assert ("metadata-url", key) in entrydb.rows(tmp_path / "cache")
    entrydb.replace(tmp_path / "cache", "metadata-url", key, hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    chain_index.clear_log()

    # the solver must run (an identical solve is otherwise answered from the solve cache)
    second = ftlock("solve", "app", "--no-solve-cache", index=chain_index)

    assert second.exit_code == 0, second.stderr
    assert "Traceback" not in second.stderr
    assert second.lock == first.lock
    assert chain_index.counts() == {"/files/p3-1.1-py3-none-any.whl.metadata": 1}


def test_stray_temporary_files_are_never_read_and_stale_ones_are_swept(
    chain_index, ftlock, tmp_path
):
    first = ftlock("solve", "app", index=chain_index)
    assert first.exit_code == 0, first.stderr
    cache = tmp_path / "cache"
    planted = []
    for directory in sorted({p.parent for p in cache_entries(cache)}):
        # what a writer killed between write and rename leaves behind
        for name, age in ((".tmp-fresh", 0), (".tmp-stale", 7200)):
            stray = directory / name
            stray.write_bytes(b"0" * 64 + b"\n{\"name\": \"evil\", \"vers")
            os.utime(stray, (time.time() - age, time.time() - age))
            planted.append(stray)

    second = ftlock("solve", "app", "--refresh", index=chain_index)

    assert second.exit_code == 0, second.stderr
    assert second.lock == first.lock
    left = {p.name for p in temp_files(cache)}
    assert ".tmp-fresh" in left  # may belong to a live writer: kept
    swept = [p for p in planted if p.name == ".tmp-stale" and "pages" in p.parts]
    assert swept and not any(p.exists() for p in swept)  # rewritten dirs were swept


def test_a_cache_entry_torn_by_a_crash_is_refetched(chain_index, ftlock, tmp_path):
    """A filesystem without atomic rename, or a crash before the data reached the disk:
    the entry exists under its real name, but is short."""
    first = ftlock("solve", "app", index=chain_index)
    assert first.exit_code == 0, first.stderr
    entries = cache_entries(tmp_path / "cache")
    metadata = entrydb.rows(tmp_path / "cache")  # one SQLite file holds them all
    assert metadata
    for entry in entries:  # the pages, the solve-cache entry and the SQLite file
        raw = entry.read_bytes()
        entry.write_bytes(raw[: len(raw) // 3])
    chain_index.clear_log()

    second = ftlock("solve", "app", index=chain_index)

    assert second.exit_code == 0, second.stderr
    assert second.lock == first.lock
    # every page and metadata entry fetched once more; the torn solve-cache entry is
    # dropped, so the solver ran; the torn database was started afresh
    pages = [e for e in entries if "pages" in e.parts]
    assert chain_index.count() == len(pages) + len(metadata)
    assert entrydb.rows(tmp_path / "cache") == metadata


# --------------------------------------------------------------------------------------
# concurrent processes
# --------------------------------------------------------------------------------------


def test_concurrent_solves_sharing_cache_and_output_all_write_the_same_valid_lock(
    slow_proxy, ftlock, tmp_path
):
    slow_proxy.delay = 0.05  # ~0.7 s of requests per run: long enough to overlap
    cache = tmp_path / "shared-cache"
    lockdir = tmp_path / "lockdir"
    lockdir.mkdir()
    out = lockdir / "requirements.txt"
    args = solve_args(slow_proxy.url, cache, out)

    runs = [spawn(args) for _ in range(3)]
    results = [(run.wait(timeout=120), *run.communicate()) for run in runs]

    for code, _stdout, stderr in results:
        assert code == 0, stderr
        assert "Traceback" not in stderr
    # they did run side by side: some pages were fetched by more than one of them
    assert slow_proxy.count("/simple/*") > 7
    written = out.read_text()
    assert pins(written) == EXPECTED_PINS
    assert os.listdir(lockdir) == ["requirements.txt"]
    assert temp_files(cache) == []
    # the lock is the one a lone, cache-less run writes ...
    slow_proxy.delay = 0
    alone = ftlock(*args, "--no-cache")
    assert alone.exit_code == 0, alone.stderr
    assert out.read_text() == written
    # ... and every entry the concurrent runs left is valid: offline needs nothing else
    offline = ftlock(*args, "--offline")
    assert offline.exit_code == 0, offline.stderr
    assert out.read_text() == written


# --------------------------------------------------------------------------------------
# kill -9
# --------------------------------------------------------------------------------------


def test_a_solve_killed_mid_run_leaves_the_output_untouched_and_the_next_run_succeeds(
    slow_proxy, ftlock, tmp_path, monkeypatch
):
    # entries written as they arrive, not held for the first seconds (Cache.hold): the
    # kill has to land while the cache is being written
    monkeypatch.setenv("FTLOCK_CACHE_HOLD", "0")
    slow_proxy.delay = 0.15
    cache = tmp_path / "cache"
    lockdir = tmp_path / "lockdir"
    lockdir.mkdir()
    out = lockdir / "requirements.txt"
    out.write_text("previous lock\n")
    args = solve_args(slow_proxy.url, cache, out)

    victim = spawn(args)
    deadline = time.monotonic() + 60
    while slow_proxy.count("/files/*") < 3 and victim.poll() is None:  # mid-run
        assert time.monotonic() < deadline, "the solve never got going"
        time.sleep(0.02)
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=30)

    assert victim.returncode == -signal.SIGKILL
    assert out.read_text() == "previous lock\n"
    assert os.listdir(lockdir) == ["requirements.txt"]
    partial = cache_entries(cache)
    assert partial  # it had cached something before it died

    slow_proxy.delay = 0
    again = ftlock(*args)

    assert again.exit_code == 0, again.stderr
    assert pins(out.read_text()) == EXPECTED_PINS
    assert os.listdir(lockdir) == ["requirements.txt"]


def test_a_temporary_lock_file_left_by_a_killed_run_does_not_break_the_next(
    chain_index, ftlock, tmp_path
):
    lockdir = tmp_path / "lockdir"
    lockdir.mkdir()
    out = lockdir / "requirements.txt"
    stray = lockdir / ".requirements.txt.k1ll3d.tmp"
    stray.write_text("app==1.0 \\\n    --hash=sha256:")  # half a lock, never renamed

    result = ftlock("solve", "app", index=chain_index, output=out)

    assert result.exit_code == 0, result.stderr
    assert pins(out.read_text()) == EXPECTED_PINS
