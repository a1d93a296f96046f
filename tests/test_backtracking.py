"""Specification: how the solver backtracks — around projects no index has, through
conflicts that a naive order turns into tens of thousands of steps, towards the newest
versions — and what it tells the user while it does."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ftlock.resolve.backtracking import ConflictTracker
from tests.support.dists import build_wheel
from tests.support.locks import pins
from tests.support.cli import error_line


def metadata_reads(index) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """How often each PEP 658 metadata file was fetched."""
    return {path: n for path, n in index.counts().items() if path.endswith(".metadata")}


# ------------------------------------------------------------------ projects no index has


@pytest.fixture
def ghost_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    """a -> b>1; b 3.0 -> c, which no index has; b 2.0 needs nothing."""
    index = local_index()
    index.add(build_wheel(dists_dir, "a", "1.0", requires_dist=["b>1"]))
    index.add(build_wheel(dists_dir, "b", "2.0"))
    index.add(build_wheel(dists_dir, "b", "3.0", requires_dist=["c"]))
    return index


def test_a_dependency_on_a_project_no_index_has_is_backtracked_around(ghost_index, ftlock):
    result = ftlock("solve", "a", index=ghost_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==1.0", "b==2.0"]
    assert ghost_index.count("/simple/c/") == 1


def test_a_missing_project_is_named_when_every_alternative_needs_it(
    local_index, dists_dir, ftlock
):
    index = local_index()
    index.add(build_wheel(dists_dir, "a", "1.0", requires_dist=["b"]))
    index.add(build_wheel(dists_dir, "b", "2.0", requires_dist=["c>=1"]))
    index.add(build_wheel(dists_dir, "b", "3.0", requires_dist=["c>=1"]))

    result = ftlock("solve", "a", index=index)

    assert result.exit_code == 1
    assert result.lock is None
    assert error_line(result) == (
        "error: cannot solve: b 2.0-3.0 (2 versions) requires c>=1; "
        f"no project named 'c' on the configured index(es): {index.url}"
    )


def test_a_top_level_requirement_on_a_missing_project_stays_a_one_line_error(
    ghost_index, ftlock
):
    result = ftlock("solve", "a", "c", index=ghost_index)

    assert result.exit_code == 1
    assert error_line(result) == (
        f"error: no project named 'c' on the configured index(es): {ghost_index.url}"
    )


# ------------------------------------------------------------------ conflicts that keep coming back


M_VERSIONS, Q_VERSIONS = 250, 45


@pytest.fixture
def walk_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    """The shape of ``ftlock solve gemma``, generated.

    app needs k, m and q.  k 2.0 needs d>=3 (k 1.0: d>=2); every q needs d<3; every m
    needs d>=1, a bystander.  Deciding in name order pins k 2.0 and m, then rejects every
    q; resolvelib's backjump lands on m (it depends on d too), tries the next m and walks
    all q again: 250 x 45 = 11,250 rejections and 300 metadata reads before k moves.
    """
    index = local_index(pep658=True)
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["k", "m", "q"]))
    index.add(build_wheel(dists_dir, "k", "1.0", requires_dist=["d>=2"]))
    index.add(build_wheel(dists_dir, "k", "2.0", requires_dist=["d>=3"]))
    for i in range(M_VERSIONS):
        index.add(build_wheel(dists_dir, "m", f"1.{i}", requires_dist=["d>=1"]))
    for i in range(Q_VERSIONS):
        index.add(build_wheel(dists_dir, "q", f"1.{i}", requires_dist=["d<3"]))
    for version in ("1.0", "2.0", "3.0"):
        index.add(build_wheel(dists_dir, "d", version))
    return index


def test_a_package_that_keeps_conflicting_is_decided_first_and_its_culprit_last(
    walk_index, ftlock
):
    result = ftlock("solve", "app", index=walk_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "d==2.0", "k==1.0", "m==1.249", "q==1.44"]
    reads = metadata_reads(walk_index)
    # five q rejected, a few read ahead, k 2.0 and 1.0, app, m, d: not 300
    assert sum(reads.values()) <= 25, reads
    assert max(reads.values()) == 1  # a rejected version's metadata is never read twice


def test_the_learnt_order_never_flips_back() -> None:
    """Promoted and demoted packages keep their place, so restarts end."""
    tracker = ConflictTracker(threshold=2)

    assert not tracker.record("q", {"k"})
    assert tracker.record("q", {"k"})  # q first, k last, start over
    assert (tracker.promoted, tracker.demoted) == ({"q"}, {"k"})
    assert not any(tracker.record("k", {"q"}) for _ in range(5))  # k was demoted to step down
    assert not any(tracker.record("q", {"k"}) for _ in range(5))  # nothing new to learn
    assert not any(tracker.record("r", set()) for _ in range(5))  # nobody to blame
    assert tracker.restarts == 1


def test_backtracking_progress_names_the_package_and_the_versions_tried(walk_index, tmp_path):
    from ftlock.resolve.solve import SolveRequest, solve

    shown: list[str] = []
    solve(
        SolveRequest(
            requirements=("app",), index_url=walk_index.url, python="3.11",
            platform="linux_x86_64", cache_dir=tmp_path / "cache",
        ),
        on_progress=lambda pinned, what: shown.append(what),
    )

    assert "q (backtracking: 1 version tried)" in shown
    assert "q (backtracking: 5 versions tried)" in shown


def test_verbose_logs_the_backtracking_on_stderr_and_never_in_the_lock(walk_index, tmp_path):
    out = tmp_path / "out.txt"
    result = subprocess.run(
        [sys.executable, "-m", "ftlock", "solve", "app", "--index-url", walk_index.url, "-v",
         "--python", "3.11", "--platform", "linux_x86_64", "--cache-dir", str(tmp_path / "c"),
         "-o", str(out)],
        capture_output=True, text=True, timeout=60, env=dict(os.environ),
    )

    assert result.returncode == 0, result.stderr
    assert (
        "backtracking: q 1.44 rejected, its requirement on d conflicts with k; 1 version of q tried"
    ) in result.stderr
    assert "backtracking: q keeps conflicting with k; deciding it first and starting over" in result.stderr
    assert "backtracking" not in out.read_text()


# ------------------------------------------------------------------ the newest solution


@pytest.fixture
def stale_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    """Transformers' example requirements in miniature (issue 14, item 7).

    Asked for in the order acc, pan, dat, tor: acc 2.0 and pan 2.0 (np>=2) are decided
    before tor, whose only usable version needs np<2.  Backtracking steps dat down to 1.0,
    whose hub<1 clashes with acc 2.0, so resolvelib marks acc 2.0 incompatible — and keeps
    it so after pan, the real culprit, has moved: acc 1.0 was locked although acc 2.0 fits.
    """
    index = local_index()

    def wheel(name: str, version: str, *requires: str) -> None:
        index.add(build_wheel(dists_dir, name, version, requires_dist=list(requires)))

    wheel("acc", "1.0", "hub", "np")
    wheel("acc", "2.0", "hub>=2", "np")
    wheel("pan", "1.0", "np")
    wheel("pan", "2.0", "np>=2")
    wheel("dat", "1.0", "hub<1", "np")
    wheel("dat", "2.0", "hub", "np")
    wheel("dat", "3.0", "hub", "np")
    wheel("tor", "1.0", "np<2")
    wheel("tor", "2.0", "np")
    for name, version in (("np", "1.0"), ("np", "2.0"), ("hub", "0.5"), ("hub", "2.0")):
        wheel(name, version)
    return index


NEWEST = ["acc==2.0", "dat==3.0", "hub==2.0", "np==1.0", "pan==1.0", "tor==1.0"]


def test_an_upper_bounded_requirement_listed_last_is_decided_before_unbounded_ones(
    stale_index, ftlock
):
    """``tor<2`` is decided first, so np 1 is pinned before anything wants np 2 and
    nothing has to be undone."""
    result = ftlock("solve", "acc", "pan", "dat", "tor<2", index=stale_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == NEWEST


def test_a_package_left_older_than_the_solution_needs_is_moved_up(stale_index, ftlock):
    """``tor!=2.0`` has no upper bound to decide it early, so the solver still locks
    acc 1.0 at first; the final check finds that acc 2.0 fits the solution as it stands."""
    result = ftlock("solve", "acc", "pan", "dat", "tor!=2.0", index=stale_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == NEWEST
