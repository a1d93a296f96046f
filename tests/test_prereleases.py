"""Specification: when a solve uses pre-releases.

The default is pip's rule: pre-releases count when a specifier names one, or when no
final release satisfies every requirement on the project together; ``--prerelease
explicit`` keeps only the first half.  Where uv decides otherwise is noted per test (and
in docs/reliability.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import Version

from ftlock.resolve.prereleases import likely_pick, names_prerelease
from tests.support.dists import build_wheel
from tests.support.locks import pins
from tests.support.cli import error_line


@pytest.fixture
def index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    """exporter publishes only pre-releases (like opentelemetry-exporter-prometheus);
    ray needs it through its ``default`` extra; x has a dev release between finals."""
    idx = local_index()

    def wheel(name: str, version: str, *requires: str, extras: tuple[str, ...] = ()) -> None:
        idx.add(build_wheel(dists_dir, name, version, requires_dist=list(requires), provides_extra=extras))

    wheel("exporter", "0.40b0")
    wheel("exporter", "0.41b0")
    wheel("ray", "2.0", 'exporter; extra == "default"', extras=("default",))
    wheel("sdk", "1.0", "exporter>=0.40")
    wheel("x", "1.23.0")
    wheel("x", "1.24.0.dev1")
    wheel("x", "2.0.0")
    wheel("y", "1.0")
    wheel("y", "2.0rc1")
    wheel("wants-newer-y", "1.0", "y>1")
    wheel("any-y", "1.0", "y")
    return idx


def test_a_requested_project_with_only_pre_releases_gets_its_newest_pre_release(index, ftlock):
    result = ftlock("solve", "exporter", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["exporter==0.41b0"]


def test_a_dependency_with_only_pre_releases_is_used_through_an_extra(index, ftlock):
    result = ftlock("solve", "ray[default]", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["exporter==0.41b0", "ray==2.0"]


def test_a_dependency_with_only_pre_releases_is_used_under_a_final_specifier(index, ftlock):
    """``exporter>=0.40`` names no pre-release, yet nothing final exists: pip (packaging
    26) and uv both take the pre-release."""
    result = ftlock("solve", "sdk", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["exporter==0.41b0", "sdk==1.0"]


def test_pre_releases_are_used_when_the_requirements_together_leave_no_final_release(
    index, ftlock
):
    """``y`` alone would take 1.0; with ``y>1`` beside it only 2.0rc1 is left — the rule
    applies to the whole requirement set on the project, not to each requirement."""
    result = ftlock("solve", "any-y", "wants-newer-y", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["any-y==1.0", "wants-newer-y==1.0", "y==2.0rc1"]


def test_a_final_release_that_fits_keeps_newer_pre_releases_out(index, ftlock):
    result = ftlock("solve", "x>=1,<2", "y", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["x==1.23.0", "y==1.0"]


def test_an_upper_bound_on_a_dev_release_admits_dev_releases_as_pip_does(index, ftlock):
    """``<2.0.0dev`` names a pre-release, so pip admits them all: 1.24.0.dev1 is the newest
    match.  uv keeps it out (1.23.0); ftlock follows pip."""
    result = ftlock("solve", "x<2.0.0dev", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["x==1.24.0.dev1"]


def test_backtracking_never_turns_to_pre_releases_while_a_final_release_matches(
    local_index, dists_dir, ftlock
):
    """p 1.0 cannot be installed (it needs z>=5), p 2.0b1 could: pip refuses, as ftlock
    does, since a final release matches ``p``; uv takes the pre-release."""
    index = local_index()
    index.add(build_wheel(dists_dir, "p", "1.0", requires_dist=["z>=5"]))
    index.add(build_wheel(dists_dir, "p", "2.0b1"))
    index.add(build_wheel(dists_dir, "z", "1.0"))

    result = ftlock("solve", "p", index=index)

    assert result.exit_code == 1
    assert error_line(result) == (
        "error: cannot solve: no version of z satisfies: p 1.0 requires z>=5 "
        "(versions for CPython 3.11, linux_x86_64: 1.0)"
    )


def test_prerelease_explicit_refuses_a_dependency_with_only_pre_releases(index, ftlock):
    result = ftlock("solve", "sdk", "--prerelease", "explicit", index=index)

    assert result.exit_code == 1
    assert error_line(result) == (
        "error: cannot solve: no version of exporter satisfies: sdk 1.0 requires "
        "exporter>=0.40 (versions for CPython 3.11, linux_x86_64: 0.41b0, 0.40b0); "
        "pre-releases are used only when a specifier names one or with --prerelease "
        "if-necessary/allow"
    )


@pytest.mark.parametrize(
    ("specifier", "names"),
    [
        (">=2.0rc1", True),
        ("<2.0.0dev", True),
        (">1.0a1", True),
        ("~=1.0b2", True),
        ("==1.0rc1", True),
        ("===1.0rc1", True),
        ("!=1.0rc1", False),  # excludes, never asks for
        ("==1.0.*", False),
        ("<2", False),
        ("===not-a-version", False),
    ],
)
def test_which_specifiers_name_a_pre_release(specifier: str, names: bool) -> None:
    """packaging 26's ``Specifier.prereleases``, fixed whatever packaging is installed."""
    assert names_prerelease(Specifier(specifier)) is names


class _Seen:
    """Versions newest first, counting how far the guess read."""

    def __init__(self, *texts: str) -> None:
        self.items = [_V(Version(t)) for t in texts]
        self.read = 0

    def __iter__(self) -> Iterator[_V]:
        for item in self.items:
            self.read += 1
            yield item


class _V:
    def __init__(self, version: Version) -> None:
        self.version = version


@pytest.mark.parametrize(
    ("policy", "specifier", "versions", "picked", "read"),
    [
        ("if-necessary", "", ("2.0rc1", "1.9", "1.8"), "1.9", 2),  # the prefetcher's old guess: 2.0rc1
        ("if-necessary", ">=2.0rc1", ("2.0rc1", "1.9"), "2.0rc1", 1),  # named: counts as final
        ("if-necessary", "", ("2.0rc1", "2.0b1"), "2.0rc1", 2),  # only pre-releases: the newest
        ("explicit", "", ("2.0rc1", "2.0b1"), None, 2),
        ("allow", "", ("2.0rc1", "1.9"), "2.0rc1", 1),
        ("if-necessary", "", (), None, 0),
    ],
)
def test_the_prefetchers_guess_follows_the_pre_release_rule_reading_no_further_than_needed(
    policy: str, specifier: str, versions: tuple[str, ...], picked: str | None, read: int
) -> None:
    seen = _Seen(*versions)
    found = likely_pick(policy, SpecifierSet(specifier), seen)  # type: ignore[arg-type]
    assert (str(found.version) if found is not None else None) == picked
    assert seen.read == read

