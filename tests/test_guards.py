"""Specification: behaviours a restructure could break silently.

Each test here catches a bug that was planted in the code and survived the rest of the
suite (the architecture issue lists them): markers evaluated for the machine instead of
the target, a solve-cache key without the target, an output written in place, a rule's GPU
condition ignored, files without an upload time let through ``--exclude-newer``, sdists
unpacked without the ``data`` filter, cache checksums not checked, ``Requires-Python``
checked against 3.X.0 only.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import textwrap

import pytest

from ftlock.distribution.metadata import extract_archive
from ftlock.errors import MetadataError
from tests.support import entrydb
from tests.support.dists import build_wheel
from tests.support.locks import pinned as pins


# -- markers are the target's -----------------------------------------------------------


@pytest.fixture
def marker_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    index = local_index(pep658=True)
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=[
        "winonly; sys_platform == 'win32'",
        "maconly; sys_platform == 'darwin'",
        "linuxonly; sys_platform == 'linux'",
    ]))
    for name in ("winonly", "maconly", "linuxonly", "direct-win"):
        index.add(build_wheel(dists_dir, name, "1.0"))
    return index


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("win_amd64", ["app==1.0", "direct-win==1.0", "winonly==1.0"]),
        ("macosx_14_0_arm64", ["app==1.0", "maconly==1.0"]),
        ("linux_x86_64", ["app==1.0", "linuxonly==1.0"]),
    ],
)
def test_markers_in_metadata_and_in_the_input_are_evaluated_for_the_target(
    marker_index, ftlock, platform, expected
):
    result = ftlock(
        "solve", "app", "direct-win; platform_system == 'Windows'", "--platform", platform,
        index=marker_index,
    )

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == expected


# -- the solve cache is per target -------------------------------------------------------


def test_solves_for_different_targets_never_share_a_solve_cache_entry(marker_index, ftlock):
    linux = ftlock("solve", "app", "--platform", "linux_x86_64", "-o", "-", index=marker_index)
    windows = ftlock("solve", "app", "--platform", "win_amd64", "-o", "-", index=marker_index)
    older = ftlock("solve", "app", "--python", "3.10", "--platform", "linux_x86_64", "-o", "-", index=marker_index)

    assert "linuxonly==1.0" in linux.stdout
    assert "winonly==1.0" in windows.stdout and "linuxonly" not in windows.stdout
    assert "reused from the solve cache" not in windows.stderr
    assert "reused from the solve cache" not in older.stderr
    assert "CPython 3.10" in older.stdout


def test_the_same_request_from_another_interpreter_is_solved_again(
    marker_index, tmp_path, monkeypatch
):
    """No --python/--platform: the target is the running interpreter and machine, which the
    request does not name, so only the target in the key keeps two machines sharing a cache
    apart (a teammate's macOS laptop and a Linux CI box, one NFS cache)."""
    from click.testing import CliRunner

    from ftlock.cli import main
    from ftlock.resolve import target as target_module

    argv = ["solve", "app", "--index-url", marker_index.url, "--cache-dir", str(tmp_path / "c"), "-o", "-"]
    here = CliRunner().invoke(main, argv, catch_exceptions=False)
    monkeypatch.setattr(target_module._platform, "system", lambda: "Windows")
    monkeypatch.setattr(target_module._platform, "machine", lambda: "AMD64")
    there = CliRunner().invoke(main, argv, catch_exceptions=False)

    assert here.exit_code == there.exit_code == 0, (here.stderr, there.stderr)
    assert "reused from the solve cache" not in there.stderr
    assert "winonly==1.0" in there.stdout and "winonly" not in here.stdout


# -- the output is replaced, never written in place --------------------------------------


def test_the_lock_replaces_the_output_file_by_rename(marker_index, ftlock, tmp_path):
    out = tmp_path / "lock.txt"
    out.write_text("previous lock\n")
    before = out.stat().st_ino
    other_name = tmp_path / "hardlink.txt"
    other_name.hardlink_to(out)  # a reader holding the old file sees it whole

    result = ftlock("solve", "app", index=marker_index, output=out)

    assert result.exit_code == 0, result.stderr
    assert out.stat().st_ino != before
    assert other_name.read_text() == "previous lock\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# -- a rule's GPU condition --------------------------------------------------------------

GPU_RULE = textwrap.dedent(
    """
    [[conflict]]
    id = "kern-2-on-ampere"
    summary = "kern 2 miscompiles on Ampere"
    symptom = "RuntimeError: CUDA error: an illegal memory access"
    fix = "use kern<2 on Ampere"
    sources = ["https://example.org/kern/issues/2"]
    added = 2026-12-01
    when = { gpu_arch = ["ampere"] }
    a = { name = "kern", versions = ">=2" }
    b = { name = "app", versions = ">=1" }
    example = { bad = ["kern==2.0", "app==1.0"], good = ["kern==1.0", "app==1.0"], gpu = "a100" }
    """
)


@pytest.mark.parametrize(("gpu", "expected"), [("a100", "kern==1.0"), ("t4", "kern==2.0")])
def test_a_rule_conditioned_on_a_gpu_architecture_acts_only_for_it(
    local_index, dists_dir, ftlock, tmp_path, gpu, expected
):
    index = local_index()
    index.add(build_wheel(dists_dir, "app", "1.0"))
    index.add(build_wheel(dists_dir, "kern", "1.0"))
    index.add(build_wheel(dists_dir, "kern", "2.0"))
    rules = tmp_path / "gpu-rules.toml"
    rules.write_text(GPU_RULE)

    result = ftlock("solve", "app", "kern", "--gpu", gpu, "--rules", str(rules), index=index)

    assert result.exit_code == 0, result.stderr
    assert expected in pins(result.lock)


# -- --exclude-newer and files without an upload time ------------------------------------


def test_files_without_an_upload_time_are_left_out_under_exclude_newer(local_index, dists_dir, ftlock):
    index = local_index()
    index.add(build_wheel(dists_dir, "demo", "1.0"), upload_time="2024-01-10T08:00:00Z")
    index.add(build_wheel(dists_dir, "demo", "2.0"), upload_time=None)

    dated = ftlock("solve", "demo", "--exclude-newer", "2025-01-01", index=index)
    undated = ftlock("solve", "demo", index=index)

    assert pins(dated.lock) == ["demo==1.0"]
    assert pins(undated.lock) == ["demo==2.0"]


# -- sdists are unpacked with the data filter --------------------------------------------


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, b""


def test_an_absolute_member_of_an_sdist_lands_inside_its_unpack_directory(tmp_path):
    dest = tmp_path / "unpack"
    dest.mkdir()
    outside = tmp_path / "absolute-escape.txt"

    extract_archive(_tar([_file("pkg-1.0/setup.py"), _file(str(outside))]), "pkg-1.0.tar.gz", dest)

    assert not outside.exists()
    assert (dest / str(outside).lstrip("/")).exists()  # the data filter strips the leading /


@pytest.mark.parametrize(
    "members",
    [
        [_file("pkg-1.0/setup.py"), _file("../escaped.txt")],
        [_file("pkg-1.0/setup.py"), _link("pkg-1.0/out", "../../../escaped-link")],
        [_file("pkg-1.0/setup.py"), _link("pkg-1.0/hard", "/etc/passwd", tarfile.LNKTYPE)],
    ],
    ids=["dot-dot", "symlink-out", "hardlink-out"],
)
def test_an_sdist_cannot_write_or_link_outside_its_unpack_directory(tmp_path, members):
    dest = tmp_path / "unpack" / "here"
    dest.mkdir(parents=True)

    with pytest.raises((MetadataError, tarfile.TarError)):
        extract_archive(_tar(members), "pkg-1.0.tar.gz", dest)

    assert not (tmp_path / "unpack" / "escaped.txt").exists()
    assert not any(p.is_symlink() for p in dest.rglob("*"))


# -- cache checksums ---------------------------------------------------------------------


def test_a_cache_entry_edited_into_other_valid_json_is_detected_by_its_checksum(
    local_index, dists_dir, ftlock, tmp_path
):
    index = local_index(pep658=True)
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["lib"]))
    index.add(build_wheel(dists_dir, "lib", "1.0"))
    first = ftlock("solve", "app", index=index)
    assert first.exit_code == 0, first.stderr
    edited = 0
    for (kind, key), stored in entrydb.rows(tmp_path / "cache").items():  # metadata entries
        checksum, _, blob = stored.partition(b"\n")
        data = json.loads(blob)
        if isinstance(data, dict) and data.get("name") == "app":
            data["requires_dist"] = ["evil-helper"]  # still valid JSON, checksum now stale
            entrydb.replace(tmp_path / "cache", kind, key, checksum + b"\n" + json.dumps(data).encode())
            edited += 1
    assert edited == 1

    second = ftlock("solve", "app", "--no-solve-cache", index=index)

    assert second.exit_code == 0, second.stderr
    assert second.lock == first.lock


# -- Requires-Python holds for every Python of the target --------------------------------


@pytest.mark.parametrize(
    ("python", "expected"), [("3.11", "app==1.0"), ("3.11.2", "app==2.0"), ("3.11.5", "app==1.0")]
)
def test_requires_python_must_hold_for_every_release_the_target_means(
    local_index, dists_dir, ftlock, python, expected
):
    index = local_index()
    index.add(build_wheel(dists_dir, "app", "1.0"))
    index.add(build_wheel(dists_dir, "app", "2.0"), requires_python="<3.11.3")

    result = ftlock("solve", "app", "--python", python, index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == [expected]


def test_cache_entries_carry_the_checksum_of_their_payload(local_index, dists_dir, ftlock, tmp_path):
    index = local_index(pep658=True)
    index.add(build_wheel(dists_dir, "app", "1.0"))
    assert ftlock("solve", "app", index=index).exit_code == 0

    entries = list((tmp_path / "cache").rglob("*.json"))
    assert entries
    for entry in entries:
        checksum, _, blob = entry.read_bytes().partition(b"\n")
        assert hashlib.sha256(blob).hexdigest().encode() == checksum
