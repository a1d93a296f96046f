"""Specification: one lock model.  What a writer records for a resolution
(:func:`recorded_entries`) is exactly what :func:`read_lock` returns for the file it wrote —
packages, versions, URLs, hashes, ``# via`` lines, rule notes and yanked marks, in both
formats — so ``ftlock lock`` can word its summary, and ``lock --check --refresh`` compare a
fresh solve, without writing and re-reading a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from ftlock.index.models import DistFile
from ftlock.lock import render
from ftlock.lock.diff import diff
from ftlock.lock.lockfile import LockEntry, read_lock, recorded_entries
from ftlock.resolve.result import LockedPackage, Resolution, SolveStats
from ftlock.resolve.target import Target

INDEX = "https://pypi.example/simple"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _hex(char: str) -> str:
    return char * 64


def _file(filename: str, digest: str | None, url: str | None = None) -> DistFile:
    return DistFile(filename, url or f"https://files.example/{filename}", digest, size=100, upload_time=1.7e9)


def _package(name: str, version: str, *files: DistFile, url: str | None = None, **more) -> LockedPackage:  # type: ignore[no-untyped-def]
    return LockedPackage(
        name=canonicalize_name(name),
        version=version,
        files=files,
        index_url=None if url else INDEX,
        url=url,
        required_by=more.pop("required_by", ("requested",)),
        **more,
    )


def resolution() -> Resolution:
    """Every shape a locked package takes: several wheels and sdists (one file without a
    hash), one and many ``# via`` entries, rule notes, a yanked pin, and the direct
    references (an archive URL with a fragment, a git commit, a local archive and tree)."""
    packages = [
        _package(
            "alpha", "1.0",
            _file("alpha-1.0-py3-none-any.whl", _hex("a")),
            _file("alpha-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", _hex("b")),
            _file("alpha-1.0.tar.gz", _hex("c")),
            _file("alpha-1.0.zip", _hex("d")),
            _file("alpha-1.0-py2-none-any.whl", None),
            notes=("ftlock: kept below 2 — rule demo-rule, https://example.org/why",),
        ),
        _package("beta", "2.0", _file("beta-2.0-py3-none-any.whl", _hex("e")), required_by=("alpha", "-r requirements.in")),
        _package("gamma", "0.5", _file("gamma-0.5-py3-none-any.whl", _hex("f")), required_by=("beta",), yanked=True),
        _package(
            "delta", "3.1",
            _file("delta-3.1.tar.gz", _hex("1"), "https://files.example/delta-3.1.tar.gz"),
            url="https://files.example/delta-3.1.tar.gz#sha256=" + _hex("1"),
        ),
        _package("epsilon", "0.1", url=f"git+https://git.example/epsilon.git@{COMMIT}#subdirectory=pkg"),
        _package(
            "zeta", "1.2",
            _file("zeta-1.2.tar.gz", _hex("2"), "file:///srv/dists/zeta-1.2.tar.gz"),
            url="file:///srv/dists/zeta-1.2.tar.gz",
        ),
        _package("eta", "0.0.1", url="file:///srv/src/eta"),
    ]
    return Resolution(
        packages=tuple(sorted(packages, key=lambda p: p.name)),
        target=Target.from_options("3.11", "linux_x86_64"),
        indexes=(INDEX,),
        default_index=INDEX,
        exclude_newer=None,
        stats=SolveStats(0.0, 0, 0),
    )


@pytest.mark.parametrize("fmt, filename", [("requirements", "requirements.txt"), ("pylock", "pylock.toml")])
def test_a_lock_read_back_is_the_lock_that_was_written(tmp_path: Path, fmt: str, filename: str) -> None:
    solved = resolution()
    path = tmp_path / filename
    path.write_text(render(solved, fmt))
    in_memory = recorded_entries(solved, fmt)  # type: ignore[arg-type]
    assert read_lock(path).packages == in_memory
    assert list(in_memory) == sorted(in_memory)  # the reader's order, too
    assert diff(read_lock(path), read_lock(path)).summary() == "no changes"


def test_what_each_format_records() -> None:
    """The facts the writers keep (and so the summary and ``--check --refresh`` compare)."""
    solved = resolution()
    req = recorded_entries(solved, "requirements")
    assert req["alpha"] == LockEntry(
        "alpha", "1.0", None,
        tuple(f"sha256:{_hex(c)}" for c in "abcd"),  # every file with a hash, sorted
        ("requested",),
        ("ftlock: kept below 2 — rule demo-rule, https://example.org/why",),
    )
    assert req["beta"].via == ("alpha", "-r requirements.in")
    assert req["gamma"].yanked
    # a direct reference is recorded by its URL alone, up to the fragment
    assert (req["delta"].version, req["delta"].url) == (None, "https://files.example/delta-3.1.tar.gz")
    assert req["epsilon"].url == f"git+https://git.example/epsilon.git@{COMMIT}"

    pylock = recorded_entries(solved, "pylock")
    # pylock lists the wheels and one sdist (the .tar.gz), and keeps a direct reference's version
    assert pylock["alpha"].hashes == tuple(f"sha256:{_hex(c)}" for c in "abc")
    assert (pylock["delta"].version, pylock["delta"].url) == ("3.1", "https://files.example/delta-3.1.tar.gz#sha256=" + _hex("1"))
    assert (pylock["zeta"].url, pylock["eta"].url) == ("/srv/dists/zeta-1.2.tar.gz", "/srv/src/eta")
    assert pylock["epsilon"].url == f"git+https://git.example/epsilon.git@{COMMIT}"
