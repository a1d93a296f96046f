"""``group_ranges`` (a page's versions as slices, pairs made only when a version is built)
answers exactly as the pair-by-pair grouping it replaced: the same versions in the same
order, each with the same files in page order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import NormalizedName, canonicalize_name

from packaging.version import Version

from ftlock.index.filenames import (
    MAX_VERSION_TEXT,
    _version,
    files_in,
    group_by_version,
    group_ranges,
    split_filename,
)


def _pair_by_pair(
    files: Iterable[tuple[Any, Any]], project: NormalizedName
) -> dict[Version, list[tuple[str, Any]]]:
    """The grouping ftlock made until group_ranges: a pair per file, appended to its
    version's list as the page is read (kept here as the specification)."""
    same_project: dict[str, bool] = {}
    by_text: dict[str, list[tuple[str, Any]]] = {}
    prefix, group = "", None  # the previous wheel's "name-version-" and its group
    for item in files:
        filename = item[0]
        if type(filename) is not str:  # the index's JSON may put anything there
            continue
        if filename.endswith(".whl"):
            dashes = filename.count("-")
            if dashes != 4 and dashes != 5:
                continue
            if group is not None and filename.startswith(prefix):
                group.append(item)
                continue
            name, text, _ = filename.split("-", 2)
            wheel = True
        else:
            split = split_filename(filename)
            if split is None:
                continue
            name, text = split
            wheel = False
        ours = same_project.get(name)
        if ours is None:
            ours = same_project[name] = canonicalize_name(name) == project
        if not ours:
            group = None
            continue
        found = by_text.get(text)
        if found is None:
            found = by_text[text] = []
        found.append(item)
        if wheel:
            prefix, group = f"{name}-{text}-", found
    grouped: dict[Version, list[tuple[str, Any]]] = {}
    for text, items in by_text.items():
        if len(text) > MAX_VERSION_TEXT:
            continue
        try:
            version = _version(text)
        except ValueError:  # InvalidVersion, or a number int() refuses (thousands of digits)
            continue
        grouped.setdefault(version, []).extend(items)  # "1.0" and "1.0.0" are one version
    return grouped


def _same(filenames: list[Any], project: str = "demo-pkg") -> dict:
    entries = [f"entry-{i}" for i in range(len(filenames))]
    wanted = canonicalize_name(project)
    ranges = group_ranges(filenames, wanted)
    expanded = {version: files_in(filenames, entries, r) for version, r in ranges.items()}
    reference = _pair_by_pair(zip(filenames, entries), wanted)
    assert group_by_version(zip(filenames, entries), wanted) == reference
    assert list(expanded) == list(reference)  # versions in first-seen order
    assert [str(v) for v in expanded] == [str(v) for v in reference]
    assert expanded == reference
    return expanded


def test_a_page_of_wheels_sdists_and_odd_files_is_grouped_as_pair_by_pair() -> None:
    filenames: list[Any] = [
        "demo_pkg-1.0-py3-none-any.whl",
        "demo_pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "demo_pkg-1.0-junk.whl",  # continues the name-version prefix, but not a wheel name
        "demo_pkg-1.0-1-cp311-cp311-win_amd64.whl",  # build tag: five dashes
        "demo-pkg-1.0.tar.gz",
        "demo_pkg-1.0.0-py3-none-any.whl",  # the same version, spelled longer
        None,  # the index may send anything, even inside a run
        "demo_pkg-1.1-py2.7.egg",
        "demo_pkg-2.0rc1-py3-none-any.whl",
        "other_pkg-2.0-py3-none-any.whl",
        "other_pkg-2.0-py2-none-any.whl",
        "demo_pkg-not.a.version-py3-none-any.whl",
        "demo_pkg-3.0-py3-none-any.whl",
        "Demo.Pkg-4.0.zip",
        "demo_pkg-1.0-py2-none-any.whl",  # version 1.0 again, after the others
        "demo_pkg-" + "9" * 300 + "-py3-none-any.whl",
    ]
    grouped = _same(filenames)
    assert [str(v) for v in grouped] == ["1.0", "2.0rc1", "3.0", "4.0"]
    assert [name for name, _ in grouped[next(iter(grouped))]] == [
        "demo_pkg-1.0-py3-none-any.whl",
        "demo_pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "demo_pkg-1.0-1-cp311-cp311-win_amd64.whl",
        "demo-pkg-1.0.tar.gz",
        "demo_pkg-1.0-py2-none-any.whl",
        "demo_pkg-1.0.0-py3-none-any.whl",  # "1.0.0" joins "1.0" after all of its files
    ]


def test_an_empty_page_has_no_versions() -> None:
    assert _same([]) == {}


fragments = st.sampled_from(
    ["demo_pkg", "demo-pkg", "Demo.Pkg", "other", "1.0", "1.0.0", "2.0rc1", "x.y", "py3", "none",
     "any", "cp311", "1", "", "-", ".whl", ".tar.gz", ".zip", ".egg"]
)
filename = st.lists(fragments, min_size=1, max_size=8).map(lambda parts: "-".join(parts).replace("--", "-"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(filename, filename.map(lambda f: f + ".whl"), st.none(), st.integers()), max_size=40))
def test_any_page_is_grouped_as_pair_by_pair(filenames: list[Any]) -> None:
    _same(filenames)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["1.0", "1.1", "2.0", "1.0.0"]), st.integers(0, 4)), max_size=30))
def test_runs_of_wheels_are_grouped_as_pair_by_pair(files: list[tuple[str, int]]) -> None:
    suffixes = ["py3-none-any.whl", "cp311-cp311-manylinux_2_17_x86_64.whl", "7-py3-none-any.whl", "junk.whl", "tar.gz"]
    _same([f"demo_pkg-{v}-{suffixes[s]}" if s != 4 else f"demo-pkg-{v}.tar.gz" for v, s in files])
