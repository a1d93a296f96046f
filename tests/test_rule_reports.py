"""Specification: rules that say what they did, and classes of breakage (issue 16).

* a rule that only made the solver backtrack is named next to the pins it moved;
* the user's own exact pins that form a known-bad pair are locked with a warning (stderr
  and header); ``--strict-rules`` / ``strict-rules = true`` makes that an error;
* ``ftlock check LOCK`` reads the target (GPU, features, python, platform) from the header;
* ``kb list`` is a table with a header row, ``kb show`` reads as prose;
* the NumPy 2 ABI class keeps compiled releases built for NumPy 1.x off numpy 2.
"""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from packaging.requirements import Requirement as PkgRequirement
from packaging.version import Version

from ftlock.knowledge.classes import ReleaseFacts, in_class
from ftlock.knowledge.loader import builtin_rules
from ftlock.index.models import DistFile
from tests.support.dists import build_wheel
from tests.support.locks import pinned as pins

UNSLOTH_RULE = "unsloth-2024.7-peft-0.12-zero-qkv"
NUMPY_RULE = "numpy-2-abi-wheels-built-for-numpy-1"
COMPILED = "cp37-abi3-manylinux_2_17_x86_64"  # a platform-specific wheel on the test target


def notes_of(lock: str, pin: str) -> list[str]:
    """The ``# ftlock:`` lines of one pin."""
    lines = lock.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(pin + " "))
    out = []
    for line in lines[start + 1:]:
        if not line.startswith(" "):
            break
        if line.startswith("    # ftlock"):
            out.append(line.strip()[2:])
    return out


# -- backtrack annotation -------------------------------------------------------------------------

BACKTRACK_RULE = textwrap.dedent(
    """
    [[conflict]]
    id = "kern-0.45.0-tri-3.2"
    summary = "kern 0.45.0 imports tri.ops, which tri 3.2 removed"
    symptom = "ModuleNotFoundError: No module named 'tri.ops'"
    fix = "kern>=0.45.1, or tri<3.2"
    sources = ["https://example.org/kern/issues/1"]
    added = 2026-12-01
    a = { name = "kern", versions = "<0.45.1" }
    b = { name = "tri", versions = ">=3.2" }
    example = { bad = ["kern==0.45.0", "tri==3.2.0"], good = ["kern==0.45.0", "tri==3.1.0"] }
    """
)


def test_a_rule_that_only_caused_backtracking_is_named_next_to_the_pins_it_moved(local_index, dists_dir, ftlock, tmp_path):
    # the rule names kern and tri; it holds torchy back, because torchy 2.6 pins tri 3.2
    index = local_index()
    for name, version, requires in [
        ("kern", "0.45.0", []),
        ("torchy", "2.6.0", ["tri==3.2.0", "runtime==12.6"]),
        ("torchy", "2.5.1", ["tri==3.1.0", "runtime==12.4"]),
        ("tri", "3.2.0", []),
        ("tri", "3.1.0", []),
        ("runtime", "12.6", []),
        ("runtime", "12.4", []),
    ]:
        index.add(build_wheel(dists_dir, name, version, requires_dist=requires))
    rules = tmp_path / "team.toml"
    rules.write_text(BACKTRACK_RULE)

    result = ftlock("solve", "kern==0.45.0", "torchy", "--rules", str(rules), index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["kern==0.45.0", "runtime==12.4", "torchy==2.5.1", "tri==3.1.0"]
    why = "because kern 0.45.0 imports tri.ops, which tri 3.2 removed — rule kern-0.45.0-tri-3.2, https://example.org/kern/issues/1"
    assert notes_of(result.lock, "torchy==2.5.1") == [
        f"ftlock: torchy 2.6.0 without this rule; the solver backtracked to 2.5.1 {why}"
    ]
    assert notes_of(result.lock, "tri==3.1.0") == [
        f"ftlock: tri 3.2.0 without this rule; the solver backtracked to 3.1.0 {why}"
    ]
    # runtime only follows torchy: the rule is named where it acted, not on every consequence
    assert notes_of(result.lock, "runtime==12.4") == []


# -- the user's own known-bad pairs ---------------------------------------------------------------


@pytest.fixture
def unsloth_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    index = local_index()
    for name, version in [("unsloth", "2024.7"), ("peft", "0.11.1"), ("peft", "0.12.0")]:
        index.add(build_wheel(dists_dir, name, version))
    return index


def test_a_known_bad_pair_pinned_on_both_sides_is_locked_with_a_warning(unsloth_index, ftlock):
    result = ftlock("solve", "unsloth==2024.7", "peft==0.12.0", index=unsloth_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["peft==0.12.0", "unsloth==2024.7"]
    assert (
        f"# Knowledge rule {UNSLOTH_RULE} broken by your own pins unsloth==2024.7 and peft==0.12.0: "
        "locked as asked (Unsloth before 2024.8 with peft 0.12+ patches 0 QKV/O/MLP layers (Gemma 2 "
        "notebook); source: https://github.com/unslothai/unsloth/issues/804)"
    ) in result.lock.splitlines()
    [warning] = [l for l in result.stderr.splitlines() if l.startswith("warning:")]
    assert warning.startswith(
        f"warning: your own pins unsloth==2024.7 and peft==0.12.0 break knowledge rule {UNSLOTH_RULE}: "
    )
    assert "locked as asked (--strict-rules refuses them)" in warning


def test_strict_rules_refuses_a_known_bad_pair_in_one_line(unsloth_index, ftlock):
    result = ftlock("solve", "unsloth==2024.7", "peft==0.12.0", "--strict-rules", index=unsloth_index)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: your own pins unsloth==2024.7 and peft==0.12.0 break knowledge rule {UNSLOTH_RULE} "
        "(Unsloth before 2024.8 with peft 0.12+ patches 0 QKV/O/MLP layers (Gemma 2 notebook); fix: "
        "Upgrade unsloth to 2024.8 or later, or keep peft below 0.12 (0.11.x) with unsloth 2024.7; "
        "source: https://github.com/unslothai/unsloth/issues/804); --strict-rules refuses them "
        "(without it they are locked with a warning)"
    ]


def test_rules_still_steer_the_side_the_user_left_open(unsloth_index, ftlock):
    result = ftlock("solve", "unsloth==2024.7", "peft<0.13", index=unsloth_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["peft==0.11.1", "unsloth==2024.7"]
    assert "warning:" not in result.stderr


def test_strict_rules_in_the_project_configuration_fails_the_lock(unsloth_index, ftlock, tmp_path):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(
        f"""
        [tool.ftlock]
        requirements = ["unsloth==2024.7", "peft==0.12.0"]
        index-url = "{unsloth_index.url}"
        python = "3.11"
        platform = "linux_x86_64"
        strict-rules = true
        """
    ))

    result = ftlock("lock", "--config", str(tmp_path / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache"))

    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: your own pins unsloth==2024.7 and peft==0.12.0 break knowledge rule {UNSLOTH_RULE} ")
    assert not (tmp_path / "requirements.txt").exists()


# -- check reads its target from the lock ---------------------------------------------------------

GPU_RULE = textwrap.dedent(
    """
    [[requires]]
    id = "app-8bit-below-ampere-needs-helper-2"
    summary = "app's 8-bit path on pre-Ampere GPUs calls helper 2's fallback kernels"
    symptom = "RuntimeError: no 8-bit kernel for this GPU"
    fix = "install helper>=2"
    sources = ["https://example.org/app/issues/2"]
    added = 2026-12-01
    when = { features = ["load_in_8bit"], compute_capability = "<8.0" }
    if = { name = "app" }
    then = { name = "helper", versions = ">=2" }
    example = { bad = ["app==1.0", "helper==1.0"], good = ["app==1.0", "helper==2.0"], features = ["load_in_8bit"], gpu = "t4" }
    """
)


def test_check_reads_gpu_features_python_and_platform_from_the_lock_header(local_index, dists_dir, ftlock, tmp_path):
    index = local_index()
    for name, version in [("app", "1.0"), ("helper", "1.0")]:
        index.add(build_wheel(dists_dir, name, version))
    lock = tmp_path / "t4.txt"
    solved = ftlock(
        "solve", "app", "helper", "--gpu", "t4", "--feature", "load_in_8bit", "--python", "3.10",
        index=index, output=lock,
    )
    assert solved.exit_code == 0, solved.stderr
    assert "# Features: load_in_8bit" in solved.lock.splitlines()
    rules = tmp_path / "team.toml"
    rules.write_text(GPU_RULE)
    common = ["--rules", str(rules), "--index-url", index.url, "--cache-dir", str(tmp_path / "c")]

    from_header = ftlock("check", str(lock), *common)
    other_gpu = ftlock("check", str(lock), "--gpu", "a100", *common)

    assert from_header.exit_code == 1
    assert "[rule app-8bit-below-ampere-needs-helper-2]" in from_header.stdout
    assert (
        "note: target read from the lock header: CPython 3.10, linux_x86_64; --gpu t4; features load_in_8bit"
    ) in from_header.stderr.splitlines()
    # a flag given to check still wins: on an A100 the rule does not apply
    assert other_gpu.exit_code == 0, other_gpu.stdout


# -- kb list / kb show ----------------------------------------------------------------------------


def test_kb_list_is_a_table_with_a_header_row(ftlock):
    lines = ftlock("kb", "list").stdout.splitlines()

    assert lines[0].split() == ["ID", "KIND", "SEVERITY", "PACKAGES", "SUMMARY"]
    assert len(lines) == len(builtin_rules()) + 1
    kind_column = lines[0].index("KIND")
    assert all(line[kind_column - 2 : kind_column] == "  " for line in lines)
    assert {line[kind_column:].split()[0] for line in lines[1:]} <= {"conflict", "requires", "metadata", "abi"}


def test_kb_show_reads_as_prose(ftlock):
    shown = ftlock("kb", "show", UNSLOTH_RULE).stdout.splitlines()

    assert shown[0].startswith(f"{UNSLOTH_RULE} — conflict rule, error (")
    assert "Versions: unsloth <2024.8 must not be installed with peft >=0.12.0" in shown
    assert "Sources:  https://github.com/unslothai/unsloth/issues/804" in shown
    assert shown[-2:] == [
        "Example:  breaks: unsloth==2024.7, peft==0.12.0",
        "          works:  unsloth==2024.7, peft==0.11.1",
    ]
    assert not any("{" in line or "[" in line for line in shown)  # no Python dicts or lists


# -- the NumPy 2 ABI class ------------------------------------------------------------------------


@pytest.fixture
def numpy_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    index = local_index()
    index.add(build_wheel(dists_dir, "numpy", "1.26.4"))
    index.add(build_wheel(dists_dir, "numpy", "2.0.0"), upload_time="2024-06-16T13:06:46Z")
    return index


@pytest.mark.parametrize(
    ("release", "wheel", "uploaded", "numpy"),
    [
        # in the class: compiled, numpy unbounded, uploaded before NumPy 2.0.0
        (("h5py", "3.10.0", ["numpy>=1.17.3"]), COMPILED, "2023-10-09T00:00:00Z", "numpy==1.26.4"),
        # pure Python: not affected
        (("purelib", "1.0", ["numpy>=1.17"]), "py3-none-any", "2023-10-09T00:00:00Z", "numpy==2.0.0"),
        # uploaded after NumPy 2.0.0: built against it
        (("newlib", "1.0", ["numpy>=1.17"]), COMPILED, "2024-07-01T00:00:00Z", "numpy==2.0.0"),
        # the metadata bounds numpy itself: its own upper bound decides
        (("boundlib", "1.0", ["numpy>=1.22,<2.3"]), COMPILED, "2024-04-02T00:00:00Z", "numpy==2.0.0"),
        # a listed exception: built against NumPy 2.0.0rc1 before the release
        (("pandas", "2.2.2", ["numpy>=1.23.2"]), COMPILED, "2024-04-10T00:00:00Z", "numpy==2.0.0"),
        # the same project's release before the exception's range is in the class
        (("pandas", "2.2.1", ["numpy>=1.23.2"]), COMPILED, "2024-02-23T00:00:00Z", "numpy==1.26.4"),
    ],
    ids=["compiled-before", "pure-python", "compiled-after", "bounded", "exception", "before-exception"],
)
def test_the_numpy_2_abi_class_keeps_wheels_built_for_numpy_1_off_numpy_2(numpy_index, dists_dir, ftlock, release, wheel, uploaded, numpy):  # type: ignore[no-untyped-def]
    name, version, requires = release
    numpy_index.add(build_wheel(dists_dir, name, version, requires_dist=requires, tag=wheel), upload_time=uploaded)

    result = ftlock("solve", f"{name}=={version}", "numpy", index=numpy_index)

    assert result.exit_code == 0, result.stderr
    assert numpy in pins(result.lock)
    if numpy == "numpy==1.26.4":
        assert notes_of(result.lock, numpy) == [
            f"ftlock: numpy not >=2 (if installed) because {name} {version} — rule {NUMPY_RULE}, "
            "https://numpy.org/doc/stable/numpy_2_0_migration_guide.html"
        ]


def test_check_reports_a_release_of_the_class_installed_with_numpy_2(numpy_index, dists_dir, ftlock, tmp_path):
    numpy_index.add(build_wheel(dists_dir, "h5py", "3.10.0", requires_dist=["numpy>=1.17.3"], tag=COMPILED))
    freeze = tmp_path / "freeze.txt"
    freeze.write_text("h5py==3.10.0\nnumpy==2.0.0\n")

    result = ftlock("check", str(freeze), "--index-url", numpy_index.url, "--cache-dir", str(tmp_path / "c"))

    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith(
        "error: h5py 3.10.0 (compiled before 2024-06-16) must not be used with numpy>=2: Compiled "
        f"wheels built against NumPy 1.x (uploaded before NumPy 2.0.0, 2024-06-16) fail to import under NumPy 2 [rule {NUMPY_RULE}]"
    )


def test_the_class_is_decided_from_wheels_metadata_and_upload_times():
    rule = next(item.rule for item in builtin_rules() if item.rule.id == NUMPY_RULE)
    before = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).timestamp()

    def facts(*wheels: str, requires: str = "numpy>=1.17", uploaded: float | None = before) -> ReleaseFacts:
        files = [DistFile(w, f"https://files.example/{w}", None, upload_time=uploaded) for w in wheels]
        return ReleaseFacts.of(files, [PkgRequirement(requires)])

    compiled = "x-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    assert in_class(rule, "x", Version("1.0"), facts(compiled))
    assert not in_class(rule, "x", Version("1.0"), facts("x-1.0-py3-none-any.whl"))
    assert not in_class(rule, "x", Version("1.0"), facts(compiled, requires="numpy<2"))
    assert not in_class(rule, "x", Version("1.0"), facts(compiled, requires="scipy"))
    assert not in_class(rule, "x", Version("1.0"), facts(compiled, uploaded=None))  # unknown: not judged
    assert not in_class(rule, "xgboost", Version("2.0.3"), facts(compiled))  # ctypes: an exception
