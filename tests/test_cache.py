"""Specification: the on-disk cache (metadata by file hash forever, index pages with a
freshness policy) and the cache-control flags ``--refresh``, ``--offline``, ``--no-cache``,
``--page-ttl``.

The ``ftlock`` fixture shares one ``--cache-dir`` between every call of a test, so a second
call sees what the first one cached; the index's request log shows what was refetched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ftlock.index.cache import Cache
from tests.support.dists import BACKEND_LOG_ENV, build_sdist, build_wheel, sha256_file
from tests.support import entrydb
from tests.support.cli import error_line


def body(lock: str) -> list[str]:
    return [line for line in lock.splitlines() if not line.startswith("#")]


def pins(lock: str) -> list[str]:
    return [line.split(" ")[0] for line in body(lock) if line and not line.startswith((" ", "-"))]


def cache_files(root: Path, kind: str) -> list[Path]:
    """Cache entries of one kind (``metadata`` or ``pages``), whatever the layout version
    or file suffix."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and kind in p.relative_to(root).parts and not p.name.startswith(".")
    )


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """The directory the ``ftlock`` fixture passes as ``--cache-dir``."""
    return tmp_path / "cache"


LIB = "lib-1.1-py3-none-any.whl"


def test_second_identical_solve_makes_no_request_and_writes_identical_bytes(
    app_index, ftlock, tmp_path
):
    first = ftlock("solve", "app", "-o", "-", index=app_index)
    assert first.exit_code == 0, first.stderr
    assert app_index.count() == 4  # 2 pages + 2 metadata files

    with app_index.assert_no_requests():
        second = ftlock("solve", "app", "-o", "-", index=app_index)

    assert second.exit_code == 0, second.stderr
    assert second.stdout.encode() == first.stdout.encode()
    second = ftlock("solve", "app", index=app_index)
    assert pins(second.lock) == ["app==1.0", "lib==1.1"]


def test_second_solve_without_pep658_reads_no_wheel_bytes_again(local_index, dists_dir, ftlock):
    index = local_index(pep658=False)
    index.add(build_wheel(dists_dir, "big", "1.0", padding_files=10))
    assert ftlock("solve", "big", index=index).exit_code == 0
    assert index.count(prefix="/files/") >= 1

    with index.assert_no_requests():
        again = ftlock("solve", "big", index=index)

    assert again.exit_code == 0, again.stderr
    assert pins(again.lock) == ["big==1.0"]


def test_refresh_refetches_pages_but_never_metadata(app_index, ftlock):
    first = ftlock("solve", "app", index=app_index)
    assert first.exit_code == 0, first.stderr
    app_index.clear_log()

    again = ftlock("solve", "app", "--refresh", index=app_index)

    assert again.exit_code == 0, again.stderr
    assert again.lock == first.lock
    assert app_index.counts() == {"/simple/app/": 1, "/simple/lib/": 1}


def test_refresh_without_etags_also_refetches_only_pages(local_index, dists_dir, ftlock):
    index = local_index(pep658=True, etag=False)
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["lib"]))
    index.add(build_wheel(dists_dir, "lib", "1.0"))
    assert ftlock("solve", "app", index=index).exit_code == 0
    index.clear_log()

    again = ftlock("solve", "app", "--refresh", index=index)

    assert again.exit_code == 0, again.stderr
    assert index.counts() == {"/simple/app/": 1, "/simple/lib/": 1}


def test_a_fresh_cached_page_hides_a_new_upload_until_refresh(app_index, dists_dir, ftlock):
    assert pins(ftlock("solve", "app", index=app_index).lock) == ["app==1.0", "lib==1.1"]
    app_index.add(build_wheel(dists_dir / "new", "lib", "1.2"))
    app_index.clear_log()

    cached = ftlock("solve", "app", index=app_index)
    assert pins(cached.lock) == ["app==1.0", "lib==1.1"]
    assert app_index.count() == 0

    refreshed = ftlock("solve", "app", "--refresh", index=app_index)
    assert pins(refreshed.lock) == ["app==1.0", "lib==1.2"]
    assert app_index.counts() == {
        "/simple/app/": 1,
        "/simple/lib/": 1,
        "/files/lib-1.2-py3-none-any.whl.metadata": 1,
    }


def test_expired_page_is_revalidated_with_its_etag(app_index, ftlock):
    first = ftlock("solve", "app", index=app_index)
    assert first.exit_code == 0, first.stderr
    app_index.clear_log()

    again = ftlock("solve", "app", "--page-ttl", "0", index=app_index)

    assert again.exit_code == 0, again.stderr
    assert again.lock == first.lock
    assert app_index.counts() == {"/simple/app/": 1, "/simple/lib/": 1}


def test_page_fetched_after_the_exclude_newer_date_is_reused_at_any_age(app_index, ftlock):
    args = ("solve", "app", "--exclude-newer", "2024-02-01", "--page-ttl", "0")
    first = ftlock(*args, index=app_index)
    assert first.exit_code == 0, first.stderr
    app_index.clear_log()

    with app_index.assert_no_requests():
        again = ftlock(*args, index=app_index)

    assert again.exit_code == 0, again.stderr
    assert again.lock == first.lock


def test_offline_solves_from_a_warm_cache(app_index, ftlock):
    first = ftlock("solve", "app", index=app_index)
    assert first.exit_code == 0, first.stderr

    with app_index.assert_no_requests():
        offline = ftlock("solve", "app", "--offline", "--page-ttl", "0", index=app_index)

    assert offline.exit_code == 0, offline.stderr
    assert body(offline.lock) == body(first.lock)


def test_offline_with_a_cold_cache_fails_naming_the_missing_page(app_index, ftlock, tmp_path):
    previous = tmp_path / "out.txt"
    previous.write_text("# an older lock\n")

    with app_index.assert_no_requests():
        result = ftlock("solve", "app", "--offline", index=app_index, output=previous)

    assert result.exit_code == 1
    assert previous.read_text() == "# an older lock\n"  # a failed solve never touches -o
    assert error_line(result) == (
        f"error: --offline: the index page of 'app' ({app_index.url}) is not in the cache"
    )


def test_offline_fails_naming_a_wheel_whose_metadata_was_never_fetched(
    local_index, dists_dir, ftlock
):
    index = local_index(pep658=True)
    index.add(build_wheel(dists_dir, "app", "1.0"))
    index.add(build_wheel(dists_dir, "app", "2.0"))
    assert pins(ftlock("solve", "app==1.0", index=index).lock) == ["app==1.0"]

    with index.assert_no_requests():
        result = ftlock("solve", "app", "--offline", index=index)

    assert result.exit_code == 1
    assert error_line(result) == (
        "error: --offline: metadata of app-2.0-py3-none-any.whl is not in the cache"
    )


def test_no_cache_writes_nothing_to_any_cache_dir(app_index, ftlock, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    explicit = tmp_path / "explicit-cache"

    result = ftlock("solve", "app", "--no-cache", "--cache-dir", str(explicit), index=app_index)
    again = ftlock("solve", "app", "--no-cache", index=app_index)

    assert result.exit_code == 0, result.stderr
    assert again.exit_code == 0, again.stderr
    assert pins(result.lock) == ["app==1.0", "lib==1.1"]
    assert not explicit.exists()
    assert not (tmp_path / "xdg").exists()
    assert not (tmp_path / "home").exists()
    assert not (tmp_path / "cache").exists()
    assert app_index.count() == 8  # nothing was reused either


def test_no_cache_ignores_an_existing_cache(app_index, ftlock, cache_dir, dists_dir):
    assert ftlock("solve", "app", index=app_index).exit_code == 0
    app_index.add(build_wheel(dists_dir / "new", "lib", "1.2"))
    app_index.clear_log()

    result = ftlock("solve", "app", "--no-cache", "--cache-dir", str(cache_dir), index=app_index)

    assert pins(result.lock) == ["app==1.0", "lib==1.2"]
    assert app_index.count() == 4


@pytest.mark.parametrize("damage", ["truncate", "garble", "empty"])
def test_corrupted_metadata_entry_is_detected_and_refetched(
    app_index, ftlock, cache_dir, damage, tmp_path
):
    first = ftlock("solve", "app", index=app_index, output=tmp_path / "one.txt")
    before = (tmp_path / "one.txt").read_bytes()
    assert first.exit_code == 0, first.stderr
    # PEP 658 metadata is stored under the file's URL and claimed hash (test_cache_safety)
    # (metadata entries live in the cache's SQLite file, one row each)
    key = Cache.url_key(app_index.file_url(LIB), app_index.get_file(LIB).sha256)
    raw = entrydb.rows(cache_dir, "metadata-url")[("metadata-url", key)]
    if damage == "truncate":
        damaged = raw[: len(raw) // 2]
    elif damage == "garble":
        # keep the length and the checksum line; flip bytes inside the payload
        cut = raw.index(b"\n") + 1 + (len(raw) - raw.index(b"\n")) // 2
        damaged = raw[:cut] + b"X" * 4 + raw[cut + 4 :]
    else:
        damaged = b""
    entrydb.replace(cache_dir, "metadata-url", key, damaged)
    app_index.clear_log()

    # the solver must run (an identical solve is otherwise answered from the solve cache)
    second = ftlock("solve", "app", "--no-solve-cache", index=app_index, output=tmp_path / "one.txt")

    assert second.exit_code == 0, second.stderr
    assert (tmp_path / "one.txt").read_bytes() == before
    assert app_index.counts() == {f"/files/{LIB}.metadata": 1}
    # the entry was rewritten: a third run needs nothing from the index
    with app_index.assert_no_requests():
        assert ftlock("solve", "app", index=app_index).exit_code == 0


def test_corrupted_page_entry_is_detected_and_the_page_refetched(app_index, ftlock, cache_dir):
    first = ftlock("solve", "app", index=app_index)
    assert first.exit_code == 0, first.stderr
    pages = cache_files(cache_dir, "pages")
    assert len(pages) == 2
    for page in pages:
        raw = page.read_bytes()
        cut = len(raw) // 2  # same length, one byte of the stored page changed
        page.write_bytes(raw[:cut] + bytes([raw[cut] ^ 0x01]) + raw[cut + 1 :])
    app_index.clear_log()

    second = ftlock("solve", "app", index=app_index)

    assert second.exit_code == 0, second.stderr
    assert second.lock == first.lock
    assert app_index.counts() == {"/simple/app/": 1, "/simple/lib/": 1}


def test_unreadable_cache_dir_does_not_break_the_solve(app_index, ftlock, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be\n")

    result = ftlock("solve", "app", "--cache-dir", str(blocker), index=app_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "lib==1.1"]
    assert blocker.read_text() == "a file where the cache directory should be\n"


def test_cached_metadata_is_keyed_by_file_hash_not_by_name(local_index, dists_dir, ftlock):
    """A file replaced on the index under the same name (new bytes) gets fresh metadata."""
    index = local_index(pep658=True)
    index.add(build_wheel(dists_dir / "old", "app", "1.0", requires_dist=["lib"]))
    index.add(build_wheel(dists_dir, "lib", "1.0"))
    index.add(build_wheel(dists_dir, "other", "1.0"))
    assert pins(ftlock("solve", "app", index=index).lock) == ["app==1.0", "lib==1.0"]

    replacement = build_wheel(dists_dir / "new", "app", "1.0", requires_dist=["other"])
    index.add(replacement)
    result = ftlock("solve", "app", "--refresh", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "other==1.0"]
    assert f"    --hash=sha256:{sha256_file(replacement)}" in result.lock.splitlines()


def test_metadata_from_a_pep517_hook_is_cached_and_the_hook_never_reruns(
    local_index, dists_dir, ftlock, tmp_path, monkeypatch
):
    log = tmp_path / "backend.log"
    monkeypatch.setenv(BACKEND_LOG_ENV, str(log))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    index = local_index()
    index.add(build_sdist(dists_dir, "app", "1.0", requires_dist=["lib"], pep517_backend=True))
    index.add(build_wheel(dists_dir, "lib", "1.0"))
    first = ftlock("solve", "app", index=index)
    assert first.exit_code == 0, first.stderr
    assert log.read_text().count("prepare_metadata_for_build_wheel app 1.0") == 1
    index.clear_log()

    again = ftlock("solve", "app", "--refresh", index=index)
    offline = ftlock("solve", "app", "--offline", index=index)

    assert again.exit_code == 0, again.stderr
    assert offline.exit_code == 0, offline.stderr
    assert again.lock == first.lock
    assert pins(offline.lock) == ["app==1.0", "lib==1.0"]
    assert log.read_text().count("prepare_metadata_for_build_wheel app 1.0") == 1
    assert index.count(prefix="/files/") == 0  # the sdist was not downloaded again


def test_offline_remembers_a_project_missing_from_the_first_index(local_index, dists_dir, ftlock):
    primary, extra = local_index(), local_index()
    primary.add(build_wheel(dists_dir / "a", "app", "1.0", requires_dist=["lib"]))
    extra.add(build_wheel(dists_dir / "b", "lib", "1.0"))
    args = ("solve", "app", "--extra-index-url", extra.url)
    first = ftlock(*args, index=primary)
    assert first.exit_code == 0, first.stderr
    primary.clear_log()
    extra.clear_log()

    result = ftlock(*args, "--offline", index=primary)

    assert result.exit_code == 0, result.stderr
    assert body(result.lock) == body(first.lock)
    assert pins(result.lock) == ["app==1.0", "lib==1.0"]
    assert primary.count() == 0
    assert extra.count() == 0


def test_cached_pages_belong_to_their_index(local_index, dists_dir, ftlock):
    one, two = local_index(), local_index()
    one.add(build_wheel(dists_dir / "one", "app", "1.0"))
    two.add(build_wheel(dists_dir / "two", "app", "2.0"))
    assert pins(ftlock("solve", "app", index=one).lock) == ["app==1.0"]

    result = ftlock("solve", "app", index=two)

    assert pins(result.lock) == ["app==2.0"]
    assert two.counts() == {"/simple/app/": 1, "/files/app-2.0-py3-none-any.whl": 1}


# --------------------------------------------------------------------------------------
# entries written behind a solve by one thread (Cache.hold)
# --------------------------------------------------------------------------------------


def test_entries_not_yet_written_are_read_from_memory_and_all_are_written_by_flush(tmp_path, monkeypatch):
    import threading

    from ftlock.index.models import Metadata

    release = threading.Event()
    write_now = Cache._write_now

    def slow_writer(self, path, chunks):  # type: ignore[no-untyped-def]
        release.wait(10)
        return write_now(self, path, chunks)

    monkeypatch.setattr(Cache, "_write_now", slow_writer)
    cache = Cache(tmp_path)
    assert cache.get_metadata("a" * 64) is None  # a cold cache: no entry database yet
    cache.hold()
    cache.put_metadata("a" * 64, Metadata("demo", "1.0", ("dep>1",)))
    fetched_at, identity = cache.put_page("http://127.0.0.1:9/simple", "demo", b'{"files": []}', "u", "t")

    assert list(tmp_path.rglob("*.json")) + list(tmp_path.rglob("*.page")) == []
    assert identity is None and cache.page_identity("http://127.0.0.1:9/simple", "demo") is None
    assert cache.get_metadata("a" * 64) == Metadata("demo", "1.0", ("dep>1",))
    assert cache.get_page("http://127.0.0.1:9/simple", "demo").body == b'{"files": []}'  # type: ignore[union-attr]

    release.set()
    cache.flush()

    assert len(entrydb.rows(tmp_path, "metadata")) == 1 and len(cache_files(tmp_path, "pages")) == 1
    assert cache.page_identity("http://127.0.0.1:9/simple", "demo") is not None
    assert cache.get_metadata("a" * 64) == Metadata("demo", "1.0", ("dep>1",))  # same cache, after flush
    reread = Cache(tmp_path)
    assert reread.get_metadata("a" * 64) == Metadata("demo", "1.0", ("dep>1",))
    assert reread.get_page("http://127.0.0.1:9/simple", "demo").body == b'{"files": []}'  # type: ignore[union-attr]


def test_an_entry_rewritten_while_queued_ends_up_as_its_newest_version(tmp_path):
    cache = Cache(tmp_path)
    cache.hold()
    for body in (b'{"files": [1]}', b'{"files": [2]}', b'{"files": [3]}'):
        cache.put_page("http://127.0.0.1:9/simple", "demo", body, "u", "t")
    cache.flush()

    assert Cache(tmp_path).get_page("http://127.0.0.1:9/simple", "demo").body == b'{"files": [3]}'  # type: ignore[union-attr]
    assert cache.put_page("http://127.0.0.1:9/simple", "demo", b"{}", "u", "t")[1] is not None  # at once after flush


def test_without_write_behind_each_entry_is_written_at_once(tmp_path, monkeypatch):
    from ftlock.index.models import Metadata

    monkeypatch.setenv("FTLOCK_CACHE_HOLD", "0")
    cache = Cache(tmp_path)
    cache.hold()
    cache.put_metadata("b" * 64, Metadata("one", "1.0"))

    assert len(entrydb.rows(tmp_path, "metadata")) == 1
