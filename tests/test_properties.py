"""Property tests: random small indexes, solved by ftlock, judged by an independent checker.

Each example is a tiny universe — 2 to 4 projects, 1 to 3 versions each, dependencies with
specifiers, extras and environment markers, ``Requires-Python``, yanked files — served by
one local index (PEP 658 metadata files beside placeholder wheels, so no wheel is built;
JSON or HTML pages at random) and a few root requirements.  Then:

1. whenever ftlock writes a lock, the lock satisfies every requirement: an independent
   checker (written here, not ftlock's code) parses the lock, evaluates each pinned
   package's ``Requires-Dist`` with its markers for the target (CPython 3.11 on
   linux_x86_64) and the extras asked of it, and checks every specifier, every
   ``Requires-Python``, that a yanked version is pinned only by an ``==`` requirement,
   that nothing unrequired is pinned and that each pin carries the index's hash;
2. whenever a brute-force search over all version assignments finds a solution, ftlock
   does not report the input unsatisfiable (and no run ever ends any other way than with
   a lock or a one-line "cannot solve" error).

Profiles (``HYPOTHESIS_PROFILE``): ``dev`` (default, 25 examples per test, seconds),
``ci`` (300 per test, 600 in all, 30-90 s on 2 cores), ``long`` (5000 per test).
A seeded longer run, reproducible on any machine::

    HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py --hypothesis-seed=20240501
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis.errors import InvalidArgument
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.support.dists import render_metadata
from tests.support.index_server import IndexedFile, LocalIndex

_COMMON = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=25, **_COMMON)
settings.register_profile("ci", max_examples=300, **_COMMON)
settings.register_profile("long", max_examples=5000, **_COMMON)
# CI (CI=true, as the CI runner sets it) gets the ci profile (300 per test, 600 in all); local runs stay quick
PROFILE = settings.get_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev")
)

#: The target's marker environment, written out independently of ftlock's Target.
TARGET_ENV = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.0",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": "3.11.0",
    "python_version": "3.11",
    "sys_platform": "linux",
}
TARGET_PYTHONS = ("3.11.0", "3.11.9")  # "--python 3.11" means every 3.11.x

VERSIONS = ["1.0", "1.1", "2.0", "2.1", "3.0"]
MARKERS = [
    None, None, None,
    'python_version >= "3.10"',
    'python_version < "3.10"',
    'sys_platform == "win32"',
    'sys_platform == "linux"',
    'platform_machine == "x86_64"',
    'os_name == "nt"',
    'platform_system == "Linux" and python_version > "3.8"',
    'sys_platform == "darwin" or implementation_name == "cpython"',
]
EXTRAS = ["x", "y"]
REQUIRES_PYTHON = [None, None, None, None, ">=3.8", ">=3.12", "<3.11", ">=3.11,<3.12"]


# --------------------------------------------------------------------------------------
# the universe
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    name: str
    version: str
    requires_dist: tuple[str, ...]
    provides_extra: tuple[str, ...]
    requires_python: str | None
    yanked: bool
    advertise_python: bool  # also give Requires-Python on the index page

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-py3-none-any.whl"

    @property
    def data(self) -> bytes:
        return f"placeholder wheel {self.name} {self.version}\n".encode()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


Universe = dict[str, dict[str, Release]]


OPERATORS = ["", "", "", ">=", ">=", "<=", "<", ">", "==", "!=", "~=", "==*"]


def _requirement(draw, versions: dict[str, list[str]], names: list[str], tight: bool) -> str:  # type: ignore[no-untyped-def]
    """``name[extras]<specifier>``; the specifier's version is one the project has (or, in
    tight universes, any version), so most specifiers match something."""
    name = draw(st.sampled_from(names))
    extras = draw(st.sets(st.sampled_from(EXTRAS), max_size=2))
    operator = draw(st.sampled_from(OPERATORS))
    pool = VERSIONS if tight else versions[name]
    version = draw(st.sampled_from(pool))
    if operator == "":
        spec = ""
    elif operator == "==*":
        spec = f"=={version.split('.')[0]}.*"
    elif operator == "~=":
        spec = f"~={version}"
    else:
        spec = f"{operator}{version}"
        if draw(st.integers(0, 4)) == 0:  # now and then a range
            spec += f",<{int(version.split('.')[0]) + 1}"
    return name + (f"[{','.join(sorted(extras))}]" if extras else "") + spec


@st.composite
def universes(draw, tight: bool = False):  # type: ignore[no-untyped-def]
    """A universe and root requirements; ``tight`` favours conflicts (more dependencies,
    fewer versions, specifiers that may match nothing, an exact pin among the roots)."""
    count = draw(st.integers(2, 4))
    names = [f"p{i}" for i in range(count)]
    versions = {
        name: sorted(
            draw(st.lists(st.sampled_from(VERSIONS), min_size=1, max_size=2 if tight else 3, unique=True)),
            key=Version,
        )
        for name in names
    }
    universe: Universe = {}
    for name in names:
        others = [n for n in names if n != name]
        releases = {}
        for version in versions[name]:
            deps = []
            for _ in range(draw(st.integers(0, 3 if tight else 2))):
                marker = draw(st.sampled_from(MARKERS))
                dep = _requirement(draw, versions, others, tight)
                deps.append(dep + (f"; {marker}" if marker else ""))
            provides = tuple(sorted(draw(st.sets(st.sampled_from(EXTRAS), max_size=2))))
            for extra in provides:
                for _ in range(draw(st.integers(1, 2))):
                    marker = draw(st.sampled_from(MARKERS))
                    condition = f'extra == "{extra}"'
                    if marker:
                        condition = f"({marker}) and {condition}"
                    deps.append(f"{_requirement(draw, versions, others, tight)}; {condition}")
            releases[version] = Release(
                name=name,
                version=version,
                requires_dist=tuple(deps),
                provides_extra=provides,
                requires_python=draw(st.sampled_from(REQUIRES_PYTHON)),
                yanked=draw(st.sampled_from([False] * 9 + [True])),
                advertise_python=draw(st.booleans()),
            )
        universe[name] = releases
    roots = []
    for _ in range(draw(st.integers(1, 3))):
        marker = draw(st.sampled_from([None, None, None, 'sys_platform == "linux"', 'os_name == "nt"']))
        roots.append(_requirement(draw, versions, names, tight) + (f"; {marker}" if marker else ""))
    if tight and draw(st.booleans()):
        name = draw(st.sampled_from(names))
        roots.append(f"{name}=={draw(st.sampled_from(versions[name]))}")
    return universe, roots


# --------------------------------------------------------------------------------------
# the independent checker
# --------------------------------------------------------------------------------------


@dataclass
class ParsedRelease:
    release: Release
    requires: list[Requirement]
    python: SpecifierSet | None


class Checker:
    """Judges an assignment {project: version} against the universe and the roots."""

    def __init__(self, universe: Universe, roots: list[str]) -> None:
        self.universe = universe
        self.parsed = {
            (name, version): ParsedRelease(
                release,
                [Requirement(r) for r in release.requires_dist],
                SpecifierSet(release.requires_python) if release.requires_python else None,
            )
            for name, releases in universe.items()
            for version, release in releases.items()
        }
        self.roots = [
            req
            for req in (Requirement(r) for r in roots)
            if req.marker is None or req.marker.evaluate({**TARGET_ENV, "extra": ""})
        ]

    def python_ok(self, name: str, version: str) -> bool:
        spec = self.parsed[(name, version)].python
        return spec is None or all(spec.contains(py) for py in TARGET_PYTHONS)

    def active_requirements(self, pins: dict[str, str]) -> list[Requirement]:
        """Roots plus every dependency of a pinned release that applies on the target with
        the extras asked of it (a fixpoint: extras pull dependencies asking for extras)."""
        extras: dict[str, set[str]] = defaultdict(set)
        while True:
            active = list(self.roots)
            for name, version in pins.items():
                entry = self.parsed.get((name, version))
                if entry is None:
                    continue
                contexts = [""] + sorted(extras[name])
                for dep in entry.requires:
                    if dep.marker is None or any(
                        dep.marker.evaluate({**TARGET_ENV, "extra": e}) for e in contexts
                    ):
                        active.append(dep)
            grew = False
            for req in active:
                wanted = set(req.extras) - extras[req.name]
                if wanted:
                    extras[req.name] |= wanted
                    grew = True
            if not grew:
                return active

    def violations(self, pins: dict[str, str], yanked_ok: bool = True) -> list[str]:
        found = []
        for name, version in pins.items():
            if (name, version) not in self.parsed:
                found.append(f"{name}=={version} is not on the index")
        if found:
            return found
        active = self.active_requirements(pins)
        for req in active:
            version = pins.get(req.name)
            if version is None:
                found.append(f"{req} is not pinned")
            elif not req.specifier.contains(Version(version), prereleases=True):
                found.append(f"{req.name}=={version} does not satisfy {req}")
        required = {req.name for req in active}
        for name, version in pins.items():
            if name not in required:
                found.append(f"{name}=={version} is pinned but nothing requires it")
            if not self.python_ok(name, version):
                found.append(f"{name}=={version} does not support Python 3.11")
            if self.parsed[(name, version)].release.yanked:
                exact = any(
                    req.name == name
                    and any(s.operator in ("==", "===") and "*" not in s.version
                            and Version(s.version) == Version(version) for s in req.specifier)
                    for req in active
                )
                if not (yanked_ok and exact):
                    found.append(f"{name}=={version} is yanked and not pinned with ==")
        return found

    def brute_force(self) -> dict[str, str] | None:
        """Some valid assignment without yanked versions, or None."""
        names = sorted(self.universe)
        options = [
            [None] + [v for v, r in self.universe[n].items() if not r.yanked and self.python_ok(n, v)]
            for n in names
        ]
        for combo in itertools.product(*options):
            pins = {n: v for n, v in zip(names, combo) if v is not None}
            if not self.violations(pins, yanked_ok=False):
                return pins
        return None


def parse_lock(text: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    pins: dict[str, str] = {}
    hashes: dict[str, list[str]] = defaultdict(list)
    current = None
    for line in text.splitlines():
        if not line or line.startswith("#") or line.startswith("--"):
            continue
        stripped = line.strip()
        if not line.startswith(" "):
            head = stripped.split(" ")[0]
            name, _, version = head.partition("==")
            assert version, f"not a pin: {line!r}"
            pins[name] = version
            current = name
        elif stripped.startswith("--hash=sha256:") and current is not None:
            hashes[current].append(stripped.removeprefix("--hash=sha256:").rstrip(" \\"))
    return pins, dict(hashes)


# --------------------------------------------------------------------------------------
# serving and solving
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[LocalIndex]:
    index = LocalIndex(pep658=True).start()
    yield index
    index.stop()


def serve(index: LocalIndex, universe: Universe, json_pages: bool) -> None:
    files = {}
    for releases in universe.values():
        for r in releases.values():
            metadata = render_metadata(
                r.name,
                r.version,
                requires_dist=r.requires_dist,
                requires_python=r.requires_python,
                provides_extra=r.provides_extra,
            ).encode()
            files[r.filename] = IndexedFile(
                filename=r.filename,
                project=r.name,  # type: ignore[arg-type]
                version=Version(r.version),
                data=r.data,
                sha256=r.sha256,
                upload_time="2024-01-01T00:00:00Z",
                yanked=r.yanked,
                requires_python=r.requires_python if r.advertise_python else None,
                pep658=True,
                metadata=metadata,
            )
    with index._lock:
        index._files = files
        index.requests.clear()
    index.json = json_pages


def solve(index: LocalIndex, roots: list[str]):  # type: ignore[no-untyped-def]
    from ftlock.cli import main

    argv = ["solve", *roots, "--index-url", index.url, "--python", "3.11",
            "--platform", "linux_x86_64", "--no-cache", "--retries", "0", "--timeout", "10",
            "-q", "-o", "-"]
    return CliRunner().invoke(main, argv, catch_exceptions=False)


def _note(text: str, as_event: bool = False) -> None:
    """Hypothesis' note()/event(), or nothing when called outside a @given test."""
    try:
        (event if as_event else note)(text)
    except InvalidArgument:
        pass


def check_example(server: LocalIndex, universe: Universe, roots: list[str], json_pages: bool) -> None:
    _note(f"roots: {roots}")
    for releases in universe.values():
        for r in releases.values():
            _note(f"{r}")
    serve(server, universe, json_pages)
    checker = Checker(universe, roots)
    solution = checker.brute_force()
    _note(f"brute force: {solution}")

    result = solve(server, roots)

    assert "Traceback" not in result.stderr, result.stderr
    outcome = "lock" if result.exit_code == 0 else "no solution"
    _note(f"ftlock: {outcome}; brute force: {'solution' if solution else 'none'}", as_event=True)
    if result.exit_code == 0:
        pins, hashes = parse_lock(result.stdout)
        _note(f"ftlock: {pins}")
        assert checker.violations(pins) == [], result.stdout
        for name, version in pins.items():
            assert hashes.get(name) == [universe[name][version].sha256], result.stdout
    else:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert result.exit_code == 1 and len(errors) == 1, result.stderr
        assert errors[0].startswith("error: cannot solve"), result.stderr
        assert solution is None, f"ftlock: {errors[0]}\nbut {solution} satisfies everything"


@settings(PROFILE)
@given(example=universes(), json_pages=st.booleans())
def test_locks_satisfy_every_requirement_and_solvable_inputs_are_solved(server, example, json_pages):
    universe, roots = example
    check_example(server, universe, roots, json_pages)


@settings(PROFILE)
@given(example=universes(tight=True), json_pages=st.booleans())
def test_conflict_heavy_inputs_are_solved_exactly_when_a_solution_exists(server, example, json_pages):
    universe, roots = example
    check_example(server, universe, roots, json_pages)


# --------------------------------------------------------------------------------------
# the checker itself
# --------------------------------------------------------------------------------------


def _release(name: str, version: str, *deps: str, extras: tuple[str, ...] = (), yanked: bool = False,
             python: str | None = None) -> Release:
    return Release(name, version, deps, extras, python, yanked, False)


def test_the_checker_finds_what_is_wrong():
    universe = {
        "p0": {"1.0": _release("p0", "1.0", "p1>=2", 'p2; extra == "x"', extras=("x",))},
        "p1": {"1.0": _release("p1", "1.0"), "2.0": _release("p1", "2.0", python=">=3.12")},
        "p2": {"1.0": _release("p2", "1.0", yanked=True)},
    }
    checker = Checker(universe, ["p0[x]"])

    assert checker.violations({"p0": "1.0", "p1": "1.0", "p2": "1.0"}) == [
        "p1==1.0 does not satisfy p1>=2",
        "p2==1.0 is yanked and not pinned with ==",
    ]
    assert "p1==2.0 does not support Python 3.11" in checker.violations(
        {"p0": "1.0", "p1": "2.0", "p2": "1.0"}
    )
    assert Checker(universe, ["p0"]).violations({"p0": "1.0", "p1": "1.0", "p2": "1.0"}) == [
        "p1==1.0 does not satisfy p1>=2",
        "p2==1.0 is pinned but nothing requires it",
        "p2==1.0 is yanked and not pinned with ==",
    ]
    assert checker.brute_force() is None
    assert Checker(universe, ["p1"]).brute_force() == {"p1": "1.0"}
    assert Checker(universe, ["p2==1.0"]).violations({"p2": "1.0"}) == []


def test_the_checker_evaluates_markers_for_the_target():
    universe = {
        "p0": {"1.0": _release("p0", "1.0", 'p1; sys_platform == "win32"', 'p2; python_version >= "3.10"')},
        "p1": {"1.0": _release("p1", "1.0")},
        "p2": {"1.0": _release("p2", "1.0")},
    }

    assert Checker(universe, ["p0"]).brute_force() == {"p0": "1.0", "p2": "1.0"}


def test_a_conflict_below_an_extra_undoes_the_extra(server):
    """Found by the property test (seed 20240501, ``long`` profile): p1[x] 2.0 needs p0 1.1,
    which needs a project with only a yanked file.  Backjumping must undo p1[x] 2.0 and
    take p1 1.1; it did not while p1[x] listed only its extra-only dependencies."""
    universe = {
        "p0": {"1.1": _release("p0", "1.1", "p2", extras=("x", "y"))},
        "p1": {"1.1": _release("p1", "1.1", extras=("x",)), "2.0": _release("p1", "2.0", "p0>1.0,<2")},
        "p2": {"1.0": _release("p2", "1.0", extras=("y",), yanked=True)},
        "p3": {
            "1.0": _release("p3", "1.0", 'p1[x]; extra == "x"', extras=("x",)),
            "1.1": _release("p3", "1.1", "p2", extras=("x", "y")),
        },
    }
    assert Checker(universe, ["p3[x]"]).brute_force() == {"p1": "1.1", "p3": "1.0"}

    for json_pages in (True, False):
        check_example(server, universe, ["p3[x]"], json_pages)
        pins, _ = parse_lock(solve(server, ["p3[x]"]).stdout)
        assert pins == {"p1": "1.1", "p3": "1.0"}


def test_pins_that_require_each_other_through_extras_build_a_result(server):
    """Found by the property test: p1[x,y] and p2[y] require each other.  resolvelib's
    result building recursed around that cycle until RecursionError
    (ftlock.resolve.resolvelib_compat makes it cycle-safe)."""
    universe = {
        "p0": {
            "1.0": _release("p0", "1.0", 'p1[x]; extra == "y"', extras=("x", "y")),
            "2.1": _release("p0", "2.1", 'p2[y]>=1.1; sys_platform == "linux"', python="<3.11"),
        },
        "p1": {
            "2.1": _release("p1", "2.1", "p2[y]>=1.1", "p0[y]", python=">=3.11,<3.12"),
            "3.0": _release("p1", "3.0", "p2[x,y]", "p2[x,y]==1.*", 'p2[x,y]<1.1; extra == "x"',
                            extras=("x", "y")),
        },
        "p2": {
            "1.1": _release("p2", "1.1", "p0", "p0<2.1", 'p1[x]~=2.1; extra == "y"',
                            'p1[x,y]~=2.1; extra == "y"', extras=("y",)),
        },
    }

    check_example(server, universe, ["p2[x]==1.1,<2", "p1"], json_pages=True)
    assert parse_lock(solve(server, ["p2[x]==1.1,<2", "p1"]).stdout)[0] == {
        "p0": "1.0", "p1": "2.1", "p2": "1.1"
    }


def test_the_route_to_root_search_survives_a_cycle():
    from ftlock.resolve.resolvelib_compat import _has_route_to_root

    class Criterion:
        def __init__(self, *parents: object) -> None:
            self.parents = parents

        def iter_parent(self):  # type: ignore[no-untyped-def]
            return iter(self.parents)

    a, b, c = object(), object(), object()  # pinned candidates of keys "a", "b", "c"
    all_keys = {id(a): "a", id(b): "b", id(c): "c", id(None): None}
    # a <- b, b <- a and root; c <- c only
    criteria = {"a": Criterion(b), "b": Criterion(a, None), "c": Criterion(c)}

    assert _has_route_to_root(criteria, "a", all_keys, {None})
    assert not _has_route_to_root(criteria, "c", all_keys, {None})
