"""Specification: the solve cache answers an identical solve without running the solver,
and only while the answer is provably the same — every index page the first solve read is
the same cache entry and still fresh under this run's policy.

The ``ftlock`` fixture shares one ``--cache-dir`` between the calls of a test.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from tests.support.dists import build_wheel
from tests.support.locks import pins

REUSED = "reused from the solve cache"


def solve_entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*.json") if "solves" in p.parts)


def test_an_identical_solve_is_answered_without_the_index_and_writes_identical_bytes(
    app_index, ftlock
):
    index = app_index
    first = ftlock("solve", "app", index=index)
    assert first.exit_code == 0, first.stderr
    assert REUSED not in first.stderr

    with index.assert_no_requests():
        second = ftlock("solve", "app", index=index)

    assert second.exit_code == 0, second.stderr
    assert REUSED in second.stderr
    assert second.lock == first.lock


def test_no_solve_cache_runs_the_solver_and_reaches_the_same_lock(app_index, ftlock):
    index = app_index
    first = ftlock("solve", "app", index=index)

    again = ftlock("solve", "app", "--no-solve-cache", index=index)

    assert again.exit_code == 0, again.stderr
    assert REUSED not in again.stderr
    assert "0 HTTP requests" in again.stderr  # pages fresh, metadata cached: no network
    assert again.lock == first.lock


def test_a_different_request_is_solved_again(app_index, ftlock):
    index = app_index
    ftlock("solve", "app", index=index)

    narrower = ftlock("solve", "app", "lib<1.1", index=index)
    other_python = ftlock("solve", "app", "--python", "3.12", index=index)

    assert REUSED not in narrower.stderr and REUSED not in other_python.stderr
    assert pins(narrower.lock) == ["app==1.0", "lib==1.0"]
    assert "CPython 3.12" in other_python.stderr


def test_a_release_seen_once_pages_expire_is_never_hidden_by_the_solve_cache(
    app_index, dists_dir, ftlock
):
    index = app_index
    first = ftlock("solve", "app", index=index)
    assert pins(first.lock) == ["app==1.0", "lib==1.1"]
    index.add(build_wheel(dists_dir, "lib", "1.2"))

    within_ttl = ftlock("solve", "app", index=index)
    expired = ftlock("solve", "app", "--page-ttl", "0", index=index)

    # within the TTL nothing is refetched, exactly as without the solve cache
    assert pins(within_ttl.lock) == ["app==1.0", "lib==1.1"]
    assert REUSED not in expired.stderr
    assert pins(expired.lock) == ["app==1.0", "lib==1.2"]


def test_refresh_runs_the_solver(app_index, ftlock):
    index = app_index
    ftlock("solve", "app", index=index)
    index.clear_log()

    refreshed = ftlock("solve", "app", "--refresh", index=index)

    assert REUSED not in refreshed.stderr
    assert index.count() >= 2  # both pages asked again


def test_a_page_entry_rewritten_since_is_not_trusted(app_index, ftlock, tmp_path):
    """Another process refetched a page (same name, new entry): the stored answer was made
    from the old one, so the solver runs."""
    index = app_index
    ftlock("solve", "app", index=index)
    page = next(p for p in (tmp_path / "cache").rglob("*.page"))
    stat = page.stat()
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))

    again = ftlock("solve", "app", index=index)

    assert again.exit_code == 0, again.stderr
    assert REUSED not in again.stderr


def test_a_page_entry_replaced_with_the_same_size_and_mtime_is_not_trusted(
    app_index, ftlock, tmp_path
):
    """Where mtimes are coarse, a refetch can keep size and mtime: the new file is still a
    new inode (entries are renamed into place)."""
    index = app_index
    ftlock("solve", "app", index=index)
    page = next(p for p in (tmp_path / "cache").rglob("*.page"))
    stat = page.stat()
    replacement = page.with_name("replacement")
    replacement.write_bytes(page.read_bytes())
    os.replace(replacement, page)
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (page.stat().st_size, page.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)

    again = ftlock("solve", "app", index=index)

    assert again.exit_code == 0, again.stderr
    assert REUSED not in again.stderr


def test_an_edited_rules_file_is_applied_not_answered_from_the_cache(
    local_index, dists_dir, ftlock, tmp_path
):
    index = local_index()
    for name, version in [("app", "1.0"), ("helper", "1.0"), ("helper", "2.0")]:
        index.add(build_wheel(dists_dir, name, version))
    rules = tmp_path / "team.toml"
    rules.write_text("")
    before = ftlock("solve", "app", "helper", "--rules", str(rules), index=index)
    rules.write_text(textwrap.dedent(
        """
        [[conflict]]
        id = "app-helper-2"
        summary = "helper 2 breaks app"
        symptom = "ImportError in app"
        fix = "use helper 1"
        sources = ["https://example.org/app/issues/1"]
        added = 2026-11-27
        a = { name = "app" }
        b = { name = "helper", versions = ">=2" }
        example = { bad = ["app==1.0", "helper==2.0"], good = ["app==1.0", "helper==1.0"] }
        """
    ))

    after = ftlock("solve", "app", "helper", "--rules", str(rules), index=index)

    assert pins(before.lock) == ["app==1.0", "helper==2.0"]
    assert REUSED not in after.stderr
    assert pins(after.lock) == ["app==1.0", "helper==1.0"]


def test_direct_references_and_no_cache_store_no_answer(app_index, dists_dir, ftlock, tmp_path):
    index = app_index
    wheel = build_wheel(dists_dir, "local", "0.1", requires_dist=["lib"])

    direct = ftlock("solve", str(wheel), index=index)
    uncached = ftlock("solve", "app", "--no-cache", index=index)

    assert direct.exit_code == uncached.exit_code == 0, direct.stderr + uncached.stderr
    assert solve_entries(tmp_path / "cache") == []
    again = ftlock("solve", str(wheel), index=index)
    assert REUSED not in again.stderr


def test_a_damaged_answer_is_dropped_and_solved_again(app_index, ftlock, tmp_path):
    index = app_index
    first = ftlock("solve", "app", index=index)
    (entry,) = solve_entries(tmp_path / "cache")
    entry.write_bytes(entry.read_bytes()[:100])

    again = ftlock("solve", "app", index=index)

    assert again.exit_code == 0, again.stderr
    assert REUSED not in again.stderr
    assert again.lock == first.lock
    third = ftlock("solve", "app", index=index)
    assert REUSED in third.stderr
