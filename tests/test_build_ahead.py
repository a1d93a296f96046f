"""Sdist metadata builds ahead of the solver, and both hooks of a build from one interpreter.

The sdists here are built by ``fakebackend`` (see :mod:`tests.test_builds`), whose hooks run
the sdist's ``setup.py``: these tests put their probes there.  Overlap and ordering are shown
by files the builds write and wait for, never by elapsed time.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.support.dists import build_wheel, render_metadata
from tests.support.locks import pinned as pins
from tests.test_builds import backend_log, error_line, fake_sdist, index, pip_cannot_help  # noqa: F401 - fixtures

#: A ``setup.py`` that records its build and waits (at most a minute) for another build's
#: record to appear: ``{dir}`` is the test's folder, ``{me}``/``{wait_for}`` record names.
WAITS_FOR = '''\
import os, time
here = {dir!r}
open(os.path.join(here, "started-{me}"), "a").close()
deadline = time.monotonic() + 60
while {wait_for!r} and not os.path.exists(os.path.join(here, "started-{wait_for}")):
    if time.monotonic() > deadline:
        break
    time.sleep(0.02)
with open(os.path.join(here, "events"), "a") as fh:
    fh.write("{me} " + ("met" if not {wait_for!r} or os.path.exists(os.path.join(here, "started-{wait_for}")) else "alone") + "\\n")
{tail}
'''

#: A ``setup.py`` that records which hook runs it, in which process, and whether the
#: ``fakehelper`` build requirement is installed there.
PROBE = '''\
import importlib.util, inspect, os
hook = next(f.function for f in inspect.stack() if f.function.endswith("_for_build_wheel"))
helper = "helper" if importlib.util.find_spec("fakehelper") else "no-helper"
with open({log!r}, "a") as fh:
    fh.write(" ".join([{name!r}, hook, helper, str(os.getpid()), str(os.getppid())]) + "\\n")
'''


def waits_for(tmp_path: Path, me: str, wait_for: str = "", tail: str = "") -> str:
    return WAITS_FOR.format(dir=str(tmp_path), me=me, wait_for=wait_for, tail=tail)


def builds(log: Path) -> dict[str, list[str]]:
    """fakebackend's log: the hooks run, per sdist directory."""
    out: dict[str, list[str]] = {}
    for line in log.read_text().splitlines():
        _, _, hook, where = line.split()
        out.setdefault(where, []).append(hook)
    return out


@pytest.fixture
def two_build_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two builds at once whatever this machine's CPU count."""
    monkeypatch.setattr("ftlock.resolve.prefetch.build_slots", lambda: 2)


def test_two_sdist_only_dependencies_are_built_at_the_same_time_and_each_once(
    index, dists_dir, tmp_path, ftlock, backend_log, two_build_slots
):
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["one", "two"]))
    for me, other in (("one", "two"), ("two", "one")):
        metadata = render_metadata(me, "1.0", requires_dist=["lib"]).encode()
        index.add(fake_sdist(dists_dir, me, "1.0", metadata, setup_py=waits_for(tmp_path, me, other)))

    result = ftlock("solve", "app", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "lib==1.0", "one==1.0", "two==1.0"]
    # each build waited for the other to start: they ran side by side, not one after the other
    assert sorted(set((tmp_path / "events").read_text().splitlines())) == ["one met", "two met"]
    hooks = ["get_requires_for_build_wheel", "prepare_metadata_for_build_wheel"]
    assert builds(backend_log) == {"one-1.0": hooks, "two-1.0": hooks}


def solve_with_a_guess_the_solver_never_needs(
    index, dists_dir, tmp_path: Path, ftlock, dep_2_setup_py: str, dep_1_waits_for: str
):  # type: ignore[no-untyped-def]
    """app asks for any dep: the newest, 2.0, is built ahead of the solver with
    ``dep_2_setup_py``; the user's constraint makes the solver take 1.0, whose build waits
    for the record ``dep_1_waits_for`` (so that 2.0's build is under way by then)."""
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["dep"]))
    index.add(fake_sdist(dists_dir, "dep", "2.0", render_metadata("dep", "2.0").encode(), setup_py=dep_2_setup_py))
    index.add(fake_sdist(dists_dir, "dep", "1.0", render_metadata("dep", "1.0").encode(),
                         setup_py=waits_for(tmp_path, "dep-1.0", dep_1_waits_for)))
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("dep<2\n")
    return ftlock("solve", "app", "-c", str(constraints), index=index)


def test_a_failed_build_of_a_version_the_solver_never_needs_changes_nothing(
    index, dists_dir, tmp_path, ftlock, backend_log, two_build_slots
):
    fails = "open(os.path.join(here, 'started-dep-2.0-fails'), 'a').close()\nraise RuntimeError('dep 2.0 is broken on purpose')"

    result = solve_with_a_guess_the_solver_never_needs(
        index, dists_dir, tmp_path, ftlock, waits_for(tmp_path, "dep-2.0", tail=fails), "dep-2.0-fails"
    )

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "dep==1.0"]
    assert "broken on purpose" not in result.stderr
    assert "dep-2.0 met" in (tmp_path / "events").read_text().splitlines()  # it did build, and fail
    assert builds(backend_log)["dep-2.0"] == ["get_requires_for_build_wheel"]


def test_a_build_the_solve_no_longer_needs_is_stopped_when_it_ends(
    index, dists_dir, tmp_path, ftlock, two_build_slots
):
    # dep 2.0's build waits for a record nothing writes: only the end of the solve stops it
    stuck = waits_for(tmp_path, "dep-2.0", "never")

    result = solve_with_a_guess_the_solver_never_needs(index, dists_dir, tmp_path, ftlock, stuck, "dep-2.0")

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "dep==1.0"]
    for thread in [t for t in threading.enumerate() if t.name.startswith("ftlock-build")]:
        thread.join(timeout=30)
        assert not thread.is_alive(), "a build outlived its solve"
    assert "dep-2.0 alone" not in (tmp_path / "events").read_text()  # killed while it waited


class CountingFetcher:
    """A metadata fetcher whose sdist ``slow`` blocks until released and ``broken`` fails."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.release = threading.Event()

    def get(self, project: str, file):  # type: ignore[no-untyped-def]
        from ftlock.errors import MetadataError
        from ftlock.index.models import Metadata

        self.calls.append((project, threading.current_thread().name))
        if project == "slow":
            assert self.release.wait(30)
        if project == "broken":
            raise MetadataError("broken: building metadata (PEP 517) failed: on purpose")
        return Metadata(project, "1.0", (), None, ())


def sdist_candidate(name: str):  # type: ignore[no-untyped-def]
    from packaging.version import Version

    from ftlock.index.models import DistFile
    from ftlock.resolve.candidates import Candidate

    return Candidate(name, Version("1.0"), (DistFile(f"{name}-1.0.tar.gz", f"https://example.invalid/{name}-1.0.tar.gz", None),))


def test_the_solver_runs_a_queued_build_itself_and_every_error_stays_with_its_candidate() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from ftlock.errors import MetadataError
    from ftlock.resolve.prefetch import MetadataService

    fetcher = CountingFetcher()
    with ThreadPoolExecutor(2) as pool:
        service = MetadataService(fetcher, pool.submit, direct=None, build_workers=1)  # type: ignore[arg-type]
        service.build_ahead(sdist_candidate("slow"))  # takes the one build slot ...
        queued = service.build_ahead(sdist_candidate("queued"))  # ... so this one waits its turn
        broken = service.build_ahead(sdist_candidate("broken"))

        # the solver does not wait for the queue: it builds what it needs itself, once
        assert service(sdist_candidate("queued")).name == "queued"
        assert queued.done()
        fetcher.release.set()
        for _ in range(2):  # a failure is kept, and told to whoever asks, every time
            with pytest.raises(MetadataError, match="on purpose"):
                service(sdist_candidate("broken"))
        assert broken.exception() is not None
        service.close()

    assert sorted(name for name, _ in fetcher.calls) == ["broken", "queued", "slow"]
    assert dict(fetcher.calls)["queued"] == threading.current_thread().name


# -- both hooks from one interpreter start (POSIX) ---------------------------------------------

posix_only = pytest.mark.skipif(not hasattr(os, "fork"), reason="the hook driver forks")


def probes(log: Path) -> list[tuple[str, str, str, int, int]]:
    """(sdist, hook, helper, pid, ppid) per setup.py run."""
    rows = []
    for line in log.read_text().splitlines():
        name, hook, helper, pid, ppid = line.split()
        rows.append((name, hook.split("_")[0], helper, int(pid), int(ppid)))
    return rows


@posix_only
def test_both_hooks_of_a_build_run_in_processes_forked_from_one_interpreter(index, dists_dir, tmp_path, ftlock):
    log = tmp_path / "probe.log"
    index.add(fake_sdist(dists_dir, "solo", "1.0", render_metadata("solo", "1.0", requires_dist=["lib"]).encode(),
                         setup_py=PROBE.format(log=str(log), name="solo")))

    result = ftlock("solve", "solo", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["lib==1.0", "solo==1.0"]
    (_, first, _, pid1, parent1), (_, second, _, pid2, parent2) = probes(log)
    assert (first, second) == ("get", "prepare")
    assert pid1 != pid2  # each hook in a process of its own ...
    assert parent1 == parent2 != os.getpid()  # ... forked from one interpreter, not ftlock's


@posix_only
def test_a_build_like_the_last_one_runs_both_hooks_where_the_last_one_needed_them(
    index, dists_dir, tmp_path, ftlock, backend_log
):
    """``first`` asks for ``fakehelper`` (as old setuptools asks for ``wheel``): its second
    hook runs in the environment with it.  ``second`` asks the same and gets both hooks
    there at once; ``third`` asks for nothing, so it starts over and runs both hooks where
    the PEP 517 order runs them, without the helper."""
    log = tmp_path / "probe.log"
    chain = {"first": "second", "second": "third", "third": None}
    for name, then in chain.items():
        metadata = render_metadata(name, "1.0", requires_dist=[then] if then else []).encode()
        extra = {"fake_requires_txt": "fakehelper\n"} if name != "third" else {}
        index.add(fake_sdist(dists_dir, name, "1.0", metadata, setup_py=PROBE.format(log=str(log), name=name), **extra))

    result = ftlock("solve", "first", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["first==1.0", "second==1.0", "third==1.0"]
    rows = probes(log)
    runs = [(name, hook, helper) for name, hook, helper, _, _ in rows]
    assert runs == [
        ("first", "get", "no-helper"), ("first", "prepare", "helper"),
        ("second", "get", "helper"), ("second", "prepare", "helper"),
        ("third", "get", "helper"), ("third", "get", "no-helper"), ("third", "prepare", "no-helper"),
    ]
    assert rows[2][4] == rows[3][4] != os.getpid()  # second: one interpreter for both hooks
    assert builds(backend_log)["third-1.0"] == [
        "get_requires_for_build_wheel", "get_requires_for_build_wheel", "prepare_metadata_for_build_wheel",
    ]


def test_a_second_hook_that_fails_fails_with_the_backends_own_words(index, dists_dir, ftlock):
    # setup.py succeeds the first time it runs in its source tree (get_requires) only
    setup_py = (
        "import os\n"
        "marker = os.path.join(os.path.dirname(__file__), 'ran-once')\n"
        "if os.path.exists(marker):\n"
        "    raise RuntimeError('the second run fails')\n"
        "open(marker, 'w').close()\n"
    )
    index.add(fake_sdist(dists_dir, "flaky", "1.0", render_metadata("flaky", "1.0").encode(), setup_py=setup_py))

    result = ftlock("solve", "flaky", index=index)

    assert result.exit_code == 1
    assert error_line(result) == (
        "error: flaky: building metadata (PEP 517) failed: RuntimeError: the second run fails"
    )
