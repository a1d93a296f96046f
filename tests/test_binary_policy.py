"""Specification: pip's --only-binary / --no-binary — on the command line, in requirement
files and in [tool.ftlock] — decide which versions are candidates and which files the lock
hashes, with pip's rules for :all:, :none:, names and their order."""

from __future__ import annotations

import itertools
import random

import pytest

from ftlock.errors import UsageError
from ftlock.resolve.formats import Format, FormatControl
from tests.support.dists import build_sdist, build_wheel
from tests.support.locks import entry, pins
from tests.support.cli import error_line

BINARY, SOURCE, BOTH = frozenset({Format.BINARY}), frozenset({Format.SOURCE}), frozenset(Format)


def hashes(lock: str, head: str) -> set[str]:
    return {line.split("sha256:")[1].split()[0] for line in entry(lock, head) if "sha256:" in line}


@pytest.fixture
def mixed(local_index, dists_dir):  # type: ignore[no-untyped-def]
    """``a``: 3.0 sdist only, 2.0 wheel only, 1.0 both (the sdist and the wheel declare
    different dependencies, so the lock shows which one the metadata came from); ``b`` 1.0
    both.  Every sdist has static PEP 643 metadata: no build needed."""
    index = local_index(pep658=True)
    files = {
        "a3-sdist": index.add(build_sdist(dists_dir, "a", "3.0")),
        "a2-wheel": index.add(build_wheel(dists_dir, "a", "2.0")),
        "a1-wheel": index.add(build_wheel(dists_dir, "a", "1.0", requires_dist=["from-wheel"])),
        "a1-sdist": index.add(build_sdist(dists_dir, "a", "1.0", requires_dist=["from-sdist"])),
        "b-wheel": index.add(build_wheel(dists_dir, "b", "1.0")),
        "b-sdist": index.add(build_sdist(dists_dir, "b", "1.0")),
    }
    index.add(build_wheel(dists_dir, "from-wheel", "1.0"))
    index.add(build_wheel(dists_dir, "from-sdist", "1.0"))
    index.files_by_role = {k: v.sha256 for k, v in files.items()}  # type: ignore[attr-defined]
    return index


# -- pip's rules -------------------------------------------------------------------------------


def control(*options: str) -> FormatControl:
    """``control("only-binary=:all:", "no-binary=x")`` in that order."""
    return FormatControl.from_options(tuple(o.split("=", 1) for o in options))  # type: ignore[misc]


def test_no_flags_allow_both_formats_for_every_project():
    assert control().allowed("x") == BOTH
    assert not control()


def test_only_binary_all_allows_wheels_only_for_every_project():
    assert control("only-binary=:all:").allowed("anything") == BINARY


def test_a_name_after_all_in_the_other_flag_is_an_exception():
    policy = control("only-binary=:all:", "no-binary=x")
    assert (policy.allowed("x"), policy.allowed("y")) == (SOURCE, BINARY)


def test_all_clears_the_names_the_other_flag_gave_before_it():
    assert control("no-binary=x", "only-binary=:all:").allowed("x") == BINARY


def test_names_after_all_in_one_value_are_dropped_unless_none_follows():
    assert control("no-binary=x", "only-binary=:all:,y").only_binary == {":all:"}
    policy = control("no-binary=x", "only-binary=:all:,:none:,y")
    assert (policy.allowed("x"), policy.allowed("y"), policy.allowed("z")) == (BOTH, BINARY, BOTH)


def test_none_clears_only_its_own_flag():
    policy = control("no-binary=x", "only-binary=y", "only-binary=:none:")
    assert (policy.allowed("x"), policy.allowed("y")) == (SOURCE, BOTH)


def test_a_name_moves_from_one_flag_to_the_other_and_is_normalised():
    policy = control("no-binary=Foo_Bar", "only-binary=foo.bar")
    assert policy == FormatControl(only_binary=frozenset({"foo-bar"}))


@pytest.mark.parametrize("value", ["", "-x", "a b", "a==1.0"])
def test_a_value_that_is_not_all_none_or_names_is_a_usage_error(value):
    with pytest.raises(UsageError, match="--only-binary"):
        control(f"only-binary={value}")


def test_every_sequence_of_flags_matches_pip_and_its_description_rebuilds_it():
    """Differential check against pip's own FormatControl, over random flag sequences."""
    pip_control = pytest.importorskip("pip._internal.models.format_control")
    values = [":all:", ":none:", "x", "y", "x,y", ":all:,x", ":all:,:none:,x", "y,:none:", "x,:all:"]
    flags = ["only-binary", "no-binary"]
    rng = random.Random(14)
    sequences = [[pair] for pair in itertools.product(flags, values)]
    sequences += [
        [(rng.choice(flags), rng.choice(values)) for _ in range(rng.randint(2, 5))] for _ in range(400)
    ]
    for pairs in sequences:
        theirs = pip_control.FormatControl(set(), set())
        for flag, value in pairs:
            target, other = (theirs.only_binary, theirs.no_binary) if flag == "only-binary" else (theirs.no_binary, theirs.only_binary)
            pip_control.FormatControl.handle_mutual_excludes(value, target, other)
        ours = FormatControl.from_options(pairs)  # type: ignore[arg-type]
        for name in ("x", "y", "z"):
            expected = {"binary": Format.BINARY, "source": Format.SOURCE}
            assert ours.allowed(name) == {expected[f] for f in theirs.get_allowed_formats(name)}, pairs
        rebuilt = FormatControl.from_options(tuple(flag[2:].split(" ", 1) for flag in ours.describe()))  # type: ignore[misc]
        assert all(rebuilt.allowed(n) == ours.allowed(n) for n in ("x", "y", "z")), pairs


# -- solving -----------------------------------------------------------------------------------


def test_only_binary_all_skips_versions_without_a_wheel_and_hashes_only_wheels(mixed, ftlock):
    result = ftlock("solve", "a<3", "b", "--only-binary", ":all:", index=mixed)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==2.0", "b==1.0"]
    assert hashes(result.lock, "b==1.0") == {mixed.files_by_role["b-wheel"]}


def test_without_flags_the_newest_version_and_every_file_are_locked(mixed, ftlock):
    result = ftlock("solve", "a", "b", index=mixed)

    assert pins(result.lock) == ["a==3.0", "b==1.0"]
    assert hashes(result.lock, "b==1.0") == {mixed.files_by_role["b-wheel"], mixed.files_by_role["b-sdist"]}
    assert "Binary policy" not in result.lock


def test_only_binary_by_name_restricts_that_project_alone(mixed, ftlock):
    result = ftlock("solve", "a", "b", "--only-binary", "A", index=mixed)

    assert pins(result.lock) == ["a==2.0", "b==1.0"]
    assert len(hashes(result.lock, "b==1.0")) == 2


def test_no_binary_takes_sdists_only_and_their_metadata(mixed, ftlock):
    result = ftlock("solve", "a<3", "--no-binary", "a", index=mixed)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["a==1.0", "from-sdist==1.0"]  # 2.0 has no sdist
    assert hashes(result.lock, "a==1.0") == {mixed.files_by_role["a1-sdist"]}


def test_no_binary_builds_an_sdist_whose_metadata_is_dynamic(local_index, dists_dir, ftlock):
    index = local_index(pep658=True)
    index.add(build_wheel(dists_dir, "dyn", "1.0", requires_dist=["from-wheel"]))
    index.add(build_sdist(dists_dir, "dyn", "1.0", requires_dist=["from-build"], pep517_backend=True))
    index.add(build_wheel(dists_dir, "from-build", "1.0"))

    result = ftlock("solve", "dyn", "--no-binary", "dyn", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["dyn==1.0", "from-build==1.0"]


def test_no_binary_with_no_build_still_never_builds(local_index, dists_dir, ftlock):
    index = local_index()
    index.add(build_wheel(dists_dir, "dyn", "1.0"))
    index.add(build_sdist(dists_dir, "dyn", "1.0", pep517_backend=True))

    result = ftlock("solve", "dyn", "--no-binary", ":all:", "--no-build", index=index)

    assert result.exit_code == 1
    assert "dyn" in error_line(result)


def test_the_order_of_the_two_flags_decides_as_in_pip(mixed, ftlock):
    exception = ftlock("solve", "a<3", "b", "--only-binary", ":all:", "--no-binary", "a", index=mixed)
    cleared = ftlock("solve", "a<3", "b", "--no-binary", "a", "--only-binary", ":all:", index=mixed)

    assert pins(exception.lock) == ["a==1.0", "b==1.0", "from-sdist==1.0"]
    assert pins(cleared.lock) == ["a==2.0", "b==1.0"]


def test_none_restores_both_formats(mixed, ftlock):
    result = ftlock("solve", "a", "--only-binary=:all:", "--only-binary=:none:", index=mixed)

    assert pins(result.lock) == ["a==3.0"]


def test_a_dependency_left_without_a_wheel_sends_the_solver_to_an_older_parent(mixed, dists_dir, ftlock):
    mixed.add(build_wheel(dists_dir, "top", "2.0", requires_dist=["a>=3"]))
    mixed.add(build_wheel(dists_dir, "top", "1.0", requires_dist=["a<3"]))

    result = ftlock("solve", "top", "--only-binary", ":all:", index=mixed)

    assert pins(result.lock) == ["a==2.0", "top==1.0"]


def test_a_pinned_version_without_a_wheel_fails_naming_the_project_and_the_flag(mixed, ftlock):
    result = ftlock("solve", "a==3.0", "--only-binary", ":all:", index=mixed)

    assert result.exit_code == 1
    line = error_line(result)
    assert line.endswith("; --only-binary :all: rules out a 3.0 (no wheel for CPython 3.11, linux_x86_64)")


def test_a_pinned_version_without_an_sdist_fails_naming_no_binary(mixed, ftlock):
    result = ftlock("solve", "a==2.0", "--no-binary", "a", index=mixed)

    assert error_line(result).endswith("; --no-binary a rules out a 2.0 (no sdist)")


def test_a_bad_value_is_one_usage_error_line(mixed, ftlock):
    result = ftlock("solve", "a", "--no-binary", "a b", index=mixed)

    assert result.exit_code == 2
    assert error_line(result) == (
        "error: --no-binary a b: 'a b' is not a project name (use :all:, :none: or names)"
    )


def test_the_lock_header_records_the_policy_as_applied(mixed, ftlock, tmp_path):
    result = ftlock("solve", "a<3", "b", "--only-binary", "b", "--only-binary", ":all:", "--no-binary", "a", index=mixed)
    pylock = ftlock(
        "solve", "a<3", "b", "--only-binary", ":all:", "--format", "pylock", "-o", str(tmp_path / "pylock.toml"), index=mixed
    )

    assert "# Binary policy: --only-binary :all: --no-binary a" in result.lock.splitlines()
    assert 'binary-policy = [\n    "--only-binary :all:",\n]' in pylock.lock


# -- requirement files ---------------------------------------------------------------------------


def test_requirement_file_lines_apply_like_flags(mixed, ftlock, tmp_path):
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("--only-binary=:all:\n--no-binary a  # pip allows both forms\na<3\nb\n")

    result = ftlock("solve", "-r", str(reqs), index=mixed)

    assert pins(result.lock) == ["a==1.0", "b==1.0", "from-sdist==1.0"]
    assert len(hashes(result.lock, "b==1.0")) == 1
    assert "# Binary policy: --only-binary :all: --no-binary a" in result.lock.splitlines()


def test_requirement_file_lines_apply_after_the_command_line(mixed, ftlock, tmp_path):
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("--only-binary :all: --only-binary b\na<3\n")

    result = ftlock("solve", "-r", str(reqs), "--no-binary", "a", index=mixed)

    assert pins(result.lock) == ["a==2.0"]  # the file's :all: cleared --no-binary a


def test_a_bad_value_in_a_requirement_file_names_the_line(mixed, ftlock, tmp_path):
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("a\n--only-binary\n")

    result = ftlock("solve", "-r", str(reqs), index=mixed)

    assert result.exit_code == 2
    assert error_line(result) == f"error: {reqs}:2: --only-binary needs a value (:all:, :none: or names)"


# -- the solve cache -------------------------------------------------------------------------------


def test_the_policy_is_part_of_the_solve_cache_key(mixed, ftlock):
    free = ftlock("solve", "a", index=mixed)
    binary = ftlock("solve", "a", "--only-binary", ":all:", index=mixed)
    spelled = ftlock("solve", "a", "--only-binary", "a", "--only-binary", ":all:", index=mixed)

    assert (pins(free.lock), pins(binary.lock)) == (["a==3.0"], ["a==2.0"])
    assert "reused from the solve cache" not in binary.stderr
    assert "reused from the solve cache" in spelled.stderr  # the same policy, spelled otherwise


# -- ftlock lock -----------------------------------------------------------------------------------


def test_the_project_configuration_sets_the_policy_and_check_notices_a_change(mixed, ftlock, tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    config = root / "pyproject.toml"

    def configure(extra: str) -> None:
        config.write_text(
            f'[tool.ftlock]\nrequirements = ["a", "b"]\nindex-url = "{mixed.url}"\npython = "3.11"\n'
            f'platform = "linux_x86_64"\n{extra}\n'
        )

    def lock(*args: str):  # type: ignore[no-untyped-def]
        return ftlock("lock", *args, "--config", str(config), "--cache-dir", str(tmp_path / "c"))

    configure('only-binary = ":all:"\nno-binary = ["a"]')
    written = lock()
    assert written.exit_code == 0, written.stderr
    text = (root / "requirements.txt").read_text()
    assert pins(text) == ["a==3.0", "b==1.0"]
    assert len(hashes(text, "b==1.0")) == 1
    assert "# Input: binary-policy --only-binary :all: --no-binary a" in text.splitlines()

    configure('only-binary = ":all:"')
    check = lock("--check")
    assert check.exit_code == 1
    assert "binary-policy: --only-binary :all: --no-binary a -> --only-binary :all:" in check.stdout

    override = lock("--no-binary", ":none:")  # a flag replaces the configured policy
    assert override.exit_code == 0, override.stderr
    assert len(hashes((root / "requirements.txt").read_text(), "b==1.0")) == 2


def test_a_bad_configured_value_is_named_with_its_key(mixed, ftlock, tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.ftlock]\nrequirements = ["a"]\nno-binary = ["a", "-x"]\n')

    result = ftlock("lock", "--config", str(config))

    assert result.exit_code == 2
    assert error_line(result) == (
        "error: pyproject.toml: tool.ftlock.no-binary: --no-binary needs a value, got the option '-x'"
    )
