"""Specification: `ftlock diff OLD NEW` and `ftlock why NAME --lock FILE` read the locks alone."""

from __future__ import annotations

import json

import pytest

from tests.support.dists import build_wheel

RULE = "unsloth-2024.7-peft-0.12-zero-qkv"


@pytest.fixture
def index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    idx = local_index()
    for name, version, requires in [
        ("app", "1.0", ["lib<2"]),
        ("app", "2.0", ["lib>=2"]),
        ("lib", "1.0", []),
        ("lib", "2.0", ["base"]),
        ("base", "1.0", []),
        ("other", "1.0", []),
        ("extra", "1.0", []),
        ("pinned", "1.0", []),
        ("pinned", "2.0", []),
        ("requests", "2.32.3", ["urllib3>=1.21", "idna"]),
        ("urllib3", "2.2.3", []),
        ("idna", "3.10", []),
        ("rich", "13.9.4", ["markdown-it-py>=2.2"]),
        ("markdown-it-py", "3.0.0", ["mdurl~=0.1"]),
        ("mdurl", "0.1.2", []),
        ("httpx", "0.27.0", ["idna"]),
        ("unsloth", "2024.7", []),
        ("peft", "0.11.1", []),
        ("peft", "0.12.0", []),
    ]:
        idx.add(build_wheel(dists_dir, name, version, requires_dist=requires))
    return idx


def test_diff_groups_added_removed_upgraded_and_downgraded_with_the_reason(index, ftlock, tmp_path):
    old = tmp_path / "old.txt"
    new = tmp_path / "new.txt"
    assert ftlock("solve", "app==1.0", "other", "pinned==2.0", index=index, output=old).exit_code == 0
    assert ftlock("solve", "app", "extra", "pinned==1.0", index=index, output=new).exit_code == 0

    result = ftlock("diff", str(old), str(new))

    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "Added (2):",
        "  + base 1.0  (via lib)",
        "  + extra 1.0  (via requested)",
        "Removed (1):",
        "  - other 1.0  (was via requested)",
        "Upgraded (2):",
        "  ^ app 1.0 -> 2.0  (via requested)",
        "  ^ lib 1.0 -> 2.0  (via app)",
        "Downgraded (1):",
        "  v pinned 2.0 -> 1.0  (via requested)",
        "6 change(s), 0 package(s) unchanged",
    ]


def test_diff_shows_the_knowledge_rule_behind_a_change(index, ftlock, tmp_path):
    old = tmp_path / "old.txt"
    new = tmp_path / "new.txt"
    ftlock("solve", "peft", index=index, output=old)
    ftlock("solve", "unsloth==2024.7", "peft", index=index, output=new)

    result = ftlock("diff", str(old), str(new))

    assert result.stdout.splitlines() == [
        "Added (1):",
        "  + unsloth 2024.7  (via requested)",
        "Downgraded (1):",
        "  v peft 0.12.0 -> 0.11.1  (via requested)",
        f"      # ftlock: peft not >=0.12.0 (if installed) because unsloth 2024.7 — rule {RULE}, "
        "https://github.com/unslothai/unsloth/issues/804",
        "2 change(s), 0 package(s) unchanged",
    ]


def test_diff_of_identical_locks_says_so_and_exit_code_flag_reports_differences(index, ftlock, tmp_path):
    a, b, c = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    ftlock("solve", "requests", index=index, output=a)
    ftlock("solve", "requests", index=index, output=b)
    ftlock("solve", "requests", "rich", index=index, output=c)

    same = ftlock("diff", str(a), str(b), "--exit-code")
    different = ftlock("diff", str(a), str(c), "--exit-code")

    assert same.exit_code == 0
    assert same.stdout == "no changes (3 packages)\n"
    assert different.exit_code == 1


def test_diff_reads_pylock_and_requirements_alike(index, ftlock, tmp_path):
    txt = tmp_path / "requirements.txt"
    toml = tmp_path / "pylock.toml"
    ftlock("solve", "requests", index=index, output=txt)
    ftlock("solve", "requests", "--format", "pylock", index=index, output=toml)

    result = ftlock("diff", str(txt), str(toml))

    assert result.stdout == "no changes (3 packages)\n"


def test_diff_json_for_machines(index, ftlock, tmp_path):
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    ftlock("solve", "app==1.0", index=index, output=old)
    ftlock("solve", "app==2.0", index=index, output=new)

    data = json.loads(ftlock("diff", str(old), str(new), "--format", "json").stdout)

    assert [c["name"] for c in data["upgraded"]] == ["app", "lib"]
    assert data["added"] == [
        {"name": "base", "old": None, "new": "1.0", "via": ["lib"], "notes": []}
    ]
    assert data["unchanged"] == 0


def test_diff_notices_changed_files_of_the_same_version(index, ftlock, tmp_path, dists_dir):
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    ftlock("solve", "other", index=index, output=old)
    from tests.support.dists import build_sdist

    index.add(build_sdist(dists_dir, "other", "1.0"))
    ftlock("solve", "other", "--refresh", index=index, output=new)

    result = ftlock("diff", str(old), str(new))

    assert result.stdout.splitlines() == [
        "Changed files or source (same version) (1):",
        "  ~ other 1.0 (hashes differ)  (via requested)",
        "1 change(s), 0 package(s) unchanged",
    ]


def test_why_prints_the_chain_from_the_requested_package(index, ftlock, tmp_path):
    lock = tmp_path / "small.txt"
    ftlock("solve", "requests", "rich", index=index, output=lock)

    result = ftlock("why", "urllib3", "--lock", str(lock))

    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "urllib3==2.2.3 is in small.txt because of 1 chain(s):",
        "  requested: requests==2.32.3 -> urllib3==2.2.3",
    ]


def test_why_prints_every_chain_shortest_first(index, ftlock, tmp_path):
    lock = tmp_path / "lock.txt"
    ftlock("solve", "requests", "httpx", "idna", "rich", index=index, output=lock)

    idna = ftlock("why", "IDNA", "--lock", str(lock))
    mdurl = ftlock("why", "mdurl", "--lock", str(lock))

    assert idna.stdout.splitlines() == [
        "idna==3.10 is in lock.txt because of 3 chain(s):",
        "  requested: idna==3.10",
        "  requested: httpx==0.27.0 -> idna==3.10",
        "  requested: requests==2.32.3 -> idna==3.10",
    ]
    assert mdurl.stdout.splitlines() == [
        "mdurl==0.1.2 is in lock.txt because of 1 chain(s):",
        "  requested: rich==13.9.4 -> markdown-it-py==3.0.0 -> mdurl==0.1.2",
    ]


def test_why_shows_the_rule_that_shaped_the_pin(index, ftlock, tmp_path):
    lock = tmp_path / "lock.txt"
    ftlock("solve", "unsloth==2024.7", "peft", index=index, output=lock)

    result = ftlock("why", "peft", "--lock", str(lock))

    assert result.stdout.splitlines() == [
        "peft==0.11.1 is in lock.txt because of 1 chain(s):",
        "  requested: peft==0.11.1",
        f"  # ftlock: peft not >=0.12.0 (if installed) because unsloth 2024.7 — rule {RULE}, "
        "https://github.com/unslothai/unsloth/issues/804",
    ]


def test_why_names_the_requirement_file_an_input_came_from(index, ftlock, tmp_path):
    reqs = tmp_path / "requirements.in"
    reqs.write_text("requests\n")
    lock = tmp_path / "pylock.toml"
    ftlock("solve", "-r", str(reqs), "--format", "pylock", index=index, output=lock)

    result = ftlock("why", "urllib3", "--lock", str(lock))

    assert result.stdout.splitlines() == [
        "urllib3==2.2.3 is in pylock.toml because of 1 chain(s):",
        f"  -r {reqs}: requests==2.32.3 -> urllib3==2.2.3",
    ]


def test_why_a_package_not_in_the_lock_exits_1(index, ftlock, tmp_path):
    lock = tmp_path / "small.txt"
    ftlock("solve", "requests", index=index, output=lock)

    result = ftlock("why", "rich", "--lock", str(lock))

    assert result.exit_code == 1
    assert result.stderr == f"error: rich is not in {lock}\n"
