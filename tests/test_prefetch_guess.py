"""Specification: the prefetcher's walk guesses each project's version within every range
it has met for that project, not within one requirement alone.

Real case (benchmark B, unsloth): unsloth caps ``torch<2.15``, accelerate asks
``torch>=2.0``; guessing from accelerate's requirement alone fetched torch 2.15.0's
metadata and then a whole CUDA 13 stack, two dozen requests the solver never made.  The
guesses only decide what is fetched ahead; the lock is the solver's (same pins either
way)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from ftlock.resolve.candidates import Requirement
from ftlock.resolve.prefetch import Prefetcher
from tests.support.dists import build_wheel
from tests.support.locks import pins


@pytest.fixture
def index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    """app caps ``capped<2``; helper asks for ``capped`` alone; capped 2.0 (never the
    solver's pick) would bring in heavy."""
    idx = local_index()

    def wheel(name: str, version: str, *requires: str) -> None:
        idx.add(build_wheel(dists_dir, name, version, requires_dist=list(requires)))

    wheel("app", "1.0", "capped<2", "helper")
    wheel("helper", "1.0", "capped")
    wheel("capped", "1.0")
    wheel("capped", "2.0", "heavy")
    wheel("heavy", "1.0")
    return idx


def test_a_version_outside_a_range_met_earlier_is_never_fetched_ahead(index, ftlock):
    result = ftlock("solve", "app", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "capped==1.0", "helper==1.0"]
    fetched = set(index.counts())
    assert not [path for path in fetched if "capped-2.0" in path]
    assert "/simple/heavy/" not in fetched


class _Finder:
    """Candidates newest first, as :class:`~ftlock.resolve.candidates.CandidateFinder`
    gives them: only what the guess reads (version, yanked, files)."""

    def __init__(self, *versions: str) -> None:
        self._found = [
            SimpleNamespace(version=Version(v), yanked=False, files=("a file",))
            for v in sorted(versions, key=Version, reverse=True)
        ]

    def candidates(self, name: str) -> list[SimpleNamespace]:
        return self._found


def _guesses(finder: _Finder, *specifiers: str) -> list[str | None]:
    prefetcher = Prefetcher(None, finder, None, None, None)  # type: ignore[arg-type]
    guesses = []
    for specifier in specifiers:
        best = prefetcher._guess(Requirement(NormalizedName("pkg"), SpecifierSet(specifier)))
        guesses.append(None if best is None else str(best.version))
    return guesses


def test_each_guess_is_the_newest_version_every_range_so_far_allows():
    assert _guesses(_Finder("1.0", "1.5", "2.0", "3.0"), "<3", ">=1", "", "!=2.0") == ["2.0", "2.0", "2.0", "1.5"]


def test_ranges_that_leave_nothing_start_over_with_the_new_requirement():
    """``==1.0`` then ``>=2`` (say, from a version the solver will not keep): the guess
    is the second's own, and the ranges kept from then on are the second's."""
    assert _guesses(_Finder("1.0", "2.0", "3.0"), "==1.0", ">=2", "<3") == ["1.0", "3.0", "2.0"]


def test_a_requirement_nothing_matches_guesses_nothing():
    assert _guesses(_Finder("1.0"), ">=5") == [None]
