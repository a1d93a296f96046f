"""Specification: how ftlock reads indexes (PEP 503/691/592/700) and core metadata
(PEP 658, HTTP range requests, sdist PKG-INFO, PEP 517 hooks), and which files it
considers installable on the target.

Every scenario builds real wheels/sdists with ``tests.support.dists`` and serves them
from a :class:`LocalIndex` on 127.0.0.1 (or its static ``file://`` copy).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from ftlock.distribution.metadata import read_wheel_metadata, static_pkg_info
from ftlock.index.pages import parse_html_page, parse_json_page
from ftlock.index.rangezip import TAIL, RangeNotSupported, SparseRemoteFile, read_member
from tests.support.cli import error_line
from tests.support.dists import (
    BACKEND_LOG_ENV,
    build_sdist,
    build_wheel,
    render_metadata,
    sha256_file,
)

# --------------------------------------------------------------------------------------
# helpers: read a lock the way a reviewer would
# --------------------------------------------------------------------------------------


def body(lock: str) -> list[str]:
    """The lock without its ``#`` header/comment lines."""
    return [line for line in lock.splitlines() if not line.startswith("#")]


def pins(lock: str) -> list[str]:
    """``name==version`` of every locked package, in lock order."""
    return [
        line.split(" ")[0]
        for line in body(lock)
        if line and not line.startswith((" ", "-"))
    ]


def index_lines(lock: str) -> list[str]:
    return [line for line in body(lock) if line.startswith("--")]


def hashes(lock: str, pin: str) -> list[str]:
    """The sha256 values listed under ``pin`` (e.g. ``"demo==1.0"``)."""
    lines = body(lock)
    start = next(i for i, line in enumerate(lines) if line.split(" ")[0] == pin)
    found = []
    for line in lines[start + 1 :]:
        match = re.match(r"^    --hash=sha256:([0-9a-f]{64})( \\)?$", line)
        if not match:
            break
        found.append(match.group(1))
    return found


def range_bytes(header: str, size: int) -> int:
    """How many bytes a single ``bytes=`` range asks for from a file of ``size``."""
    spec = header.split("=", 1)[1]
    first, _, last = spec.partition("-")
    if first == "":
        return min(int(last), size)
    end = size - 1 if last == "" else min(int(last), size - 1)
    return end - int(first) + 1


# --------------------------------------------------------------------------------------
# page formats and file:// indexes
# --------------------------------------------------------------------------------------


def _small_project(index, dists_dir: Path) -> list[Path]:  # type: ignore[no-untyped-def]
    """app 2.0 (wheel + sdist) -> lib>=1.1; lib 2.0 yanked, lib 1.5 for Python >= 3.12."""
    app2 = [
        build_wheel(dists_dir, "app", "2.0", requires_dist=["lib>=1.1"]),
        build_sdist(dists_dir, "app", "2.0", requires_dist=["lib>=1.1"]),
    ]
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["lib>=1"]))
    for path in app2:
        index.add(path)
    index.add(build_wheel(dists_dir, "lib", "1.0"))
    index.add(build_wheel(dists_dir, "lib", "2.0"), yanked="broken")
    index.add(build_wheel(dists_dir, "lib", "1.5"), requires_python=">=3.12")
    index.add(build_wheel(dists_dir, "lib", "1.2"))
    return app2


@pytest.mark.parametrize("pep658", [False, True])
def test_json_and_html_pages_give_the_same_lock(local_index, dists_dir, ftlock, tmp_path, pep658):
    index = local_index(json=True, pep658=pep658)
    app2 = _small_project(index, dists_dir)

    as_json = ftlock("solve", "app", "--no-cache", index=index, output=tmp_path / "json.txt")
    index.json = False
    as_html = ftlock("solve", "app", "--no-cache", index=index, output=tmp_path / "html.txt")

    assert as_json.exit_code == 0, as_json.stderr
    assert as_html.exit_code == 0, as_html.stderr
    # lib 2.0 is yanked and lib 1.5 needs Python >= 3.12: both formats must say so.
    assert pins(as_json.lock) == ["app==2.0", "lib==1.2"]
    assert hashes(as_json.lock, "app==2.0") == sorted(sha256_file(p) for p in app2)
    assert as_html.lock.replace("html.txt", "json.txt") == as_json.lock


def test_file_url_index_written_by_write_static_resolves(local_index, dists_dir, ftlock, tmp_path):
    index = local_index()
    app = build_wheel(dists_dir, "app", "1.0", requires_dist=["lib"])
    lib = build_wheel(dists_dir, "lib", "3.1", padding_files=10)  # > 64 KiB: ranged reads
    index.add(app)
    index.add(lib)
    url = index.write_static(tmp_path / "static")
    index.clear_log()

    result = ftlock("solve", "app", "--index-url", url)

    assert result.exit_code == 0, result.stderr
    assert index.count() == 0  # nothing went to the HTTP server
    assert index_lines(result.lock) == [f"--index-url {url}"]
    assert pins(result.lock) == ["app==1.0", "lib==3.1"]
    assert hashes(result.lock, "lib==3.1") == [sha256_file(lib)]
    assert hashes(result.lock, "app==1.0") == [sha256_file(app)]


def test_index_given_as_a_plain_directory_path_is_a_file_index(
    local_index, dists_dir, ftlock, tmp_path
):
    index = local_index()
    wheel = build_wheel(dists_dir, "app", "1.0")
    index.add(wheel)
    url = index.write_static(tmp_path / "my index")  # a space: the URL is percent-encoded
    assert "my%20index" in url
    index.clear_log()

    result = ftlock("solve", "app", "--index-url", str(tmp_path / "my index" / "simple"))

    assert result.exit_code == 0, result.stderr
    assert index.count() == 0
    assert index_lines(result.lock) == [f"--index-url {url}"]
    assert pins(result.lock) == ["app==1.0"]
    assert hashes(result.lock, "app==1.0") == [sha256_file(wheel)]


def test_project_missing_from_file_index_falls_through_to_next_index(
    local_index, dists_dir, ftlock, tmp_path
):
    static = local_index()
    static.add(build_wheel(dists_dir / "a", "app", "1.0", requires_dist=["lib"]))
    file_url = static.write_static(tmp_path / "static")
    remote = local_index()
    lib = build_wheel(dists_dir / "b", "lib", "2.0")
    remote.add(lib)

    result = ftlock("solve", "app", "--index-url", file_url, "--extra-index-url", remote.url)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "lib==2.0"]
    assert index_lines(result.lock) == [
        f"--index-url {file_url}",
        f"--extra-index-url {remote.url}",
    ]
    assert hashes(result.lock, "lib==2.0") == [sha256_file(lib)]
    assert remote.count("/simple/app/") == 0
    assert remote.count("/simple/lib/") == 1


# --------------------------------------------------------------------------------------
# index priority
# --------------------------------------------------------------------------------------


def test_project_on_first_index_is_never_taken_from_extra_index(local_index, dists_dir, ftlock):
    primary, extra = local_index(), local_index()
    mine = build_wheel(dists_dir / "a", "x", "1.0")
    primary.add(mine)
    extra.add(build_wheel(dists_dir / "b", "x", "9.0"))  # newer, but on the later index

    result = ftlock("solve", "x", "--extra-index-url", extra.url, index=primary)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["x==1.0"]
    assert hashes(result.lock, "x==1.0") == [sha256_file(mine)]
    assert index_lines(result.lock) == [f"--index-url {primary.url}"]
    assert extra.count() == 0  # the extra index was never even asked


def test_project_only_on_extra_index_comes_from_it(local_index, dists_dir, ftlock):
    primary, extra = local_index(), local_index()
    primary.add(build_wheel(dists_dir / "a", "x", "1.0", requires_dist=["y>=1"]))
    y = build_wheel(dists_dir / "b", "y", "1.3")
    extra.add(build_wheel(dists_dir / "b", "x", "9.0"))
    extra.add(y)

    result = ftlock("solve", "x", "--extra-index-url", extra.url, index=primary)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["x==1.0", "y==1.3"]
    assert hashes(result.lock, "y==1.3") == [sha256_file(y)]
    assert index_lines(result.lock) == [
        f"--index-url {primary.url}",
        f"--extra-index-url {extra.url}",
    ]
    assert primary.count("/simple/y/") == 1
    assert extra.count("/simple/y/") == 1
    assert extra.count("/simple/x/") == 0


def test_a_too_old_project_on_the_first_index_does_not_fall_back_to_the_extra_index(
    local_index, dists_dir, ftlock
):
    primary, extra = local_index(), local_index()
    primary.add(build_wheel(dists_dir / "a", "x", "1.0"))
    extra.add(build_wheel(dists_dir / "b", "x", "2.0"))

    result = ftlock("solve", "x>=2", "--extra-index-url", extra.url, index=primary)

    assert result.exit_code == 1
    assert result.lock is None
    line = error_line(result)
    assert "no version of x satisfies: you requested x>=2" in line
    assert "versions for CPython 3.11, linux_x86_64: 1.0" in line


@pytest.mark.parametrize("failure", ["unreachable", "http-500"])
def test_a_failing_first_index_is_an_error_not_a_fall_through(
    local_index, dists_dir, ftlock, failure
):
    primary, extra = local_index(), local_index()
    primary.add(build_wheel(dists_dir / "a", "x", "1.0"))
    extra.add(build_wheel(dists_dir / "b", "x", "6.6.6"))  # must never be used instead
    primary_url = primary.url
    if failure == "unreachable":
        primary.stop()
    else:
        primary.errors["/simple/x/"] = 500

    result = ftlock(
        "solve", "x", "--retries", "0", "--index-url", primary_url, "--extra-index-url", extra.url
    )

    assert result.exit_code == 1
    assert result.lock is None
    line = error_line(result)
    assert f"{primary_url}/x/" in line
    if failure == "http-500":
        assert "HTTP 500" in line
    else:
        assert "cannot reach" in line
    assert extra.count("/simple/x/") == 0


def test_project_on_no_index_is_an_error_naming_every_index(local_index, dists_dir, ftlock):
    primary, extra = local_index(), local_index()
    primary.add(build_wheel(dists_dir, "other", "1.0"))

    result = ftlock("solve", "ghost", "--extra-index-url", extra.url, index=primary)

    assert result.exit_code == 1
    assert error_line(result) == (
        f"error: no project named 'ghost' on the configured index(es): {primary.url}, {extra.url}"
    )
    assert primary.count("/simple/ghost/") == 1
    assert extra.count("/simple/ghost/") == 1


def test_credentials_in_index_urls_never_reach_the_lock_errors_or_cache(
    local_index, dists_dir, ftlock, tmp_path
):
    index = local_index()
    index.add(build_wheel(dists_dir, "app", "1.0"))
    secret_url = index.url.replace("http://", "http://alice:s3cret@")

    ok = ftlock("solve", "app", "--index-url", secret_url)
    missing = ftlock("solve", "ghost", "--index-url", secret_url)

    assert ok.exit_code == 0, ok.stderr
    assert index_lines(ok.lock) == [f"--index-url {index.url}"]
    assert "s3cret" not in ok.lock
    assert missing.exit_code == 1
    assert "s3cret" not in missing.stderr
    assert index.url in error_line(missing)
    cached = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert cached and not any(b"s3cret" in p.read_bytes() for p in cached)


def test_html_links_with_a_query_string_are_still_recognised(local_index, dists_dir, ftlock):
    index = local_index(json=False)
    wheel = build_wheel(dists_dir, "demo", "1.0")
    index.add(wheel)
    render = index.render_project_html
    # e.g. signed download URLs of an object-store-backed index
    index.render_project_html = lambda project: render(project).replace(  # type: ignore[method-assign]
        b".whl#sha256=", b".whl?sig=abc#sha256="
    )

    result = ftlock("solve", "demo", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["demo==1.0"]
    assert hashes(result.lock, "demo==1.0") == [sha256_file(wheel)]


# --------------------------------------------------------------------------------------
# PEP 592 yanking
# --------------------------------------------------------------------------------------


def test_yanked_newest_version_is_skipped(local_index, dists_dir, ftlock):
    index = local_index()
    index.add(build_wheel(dists_dir, "demo", "1.0"))
    index.add(build_wheel(dists_dir, "demo", "1.1"), yanked="bad release")

    result = ftlock("solve", "demo", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["demo==1.0"]
    # no "pinned because requested" note (the Command: line echoes the test runner's argv)
    assert not [l for l in result.lock.splitlines() if "yanked" in l and "Command:" not in l]


def test_exact_pin_selects_a_yanked_version_and_the_lock_says_so(local_index, dists_dir, ftlock):
    index = local_index(json=False)  # PEP 503 data-yanked
    index.add(build_wheel(dists_dir, "demo", "1.0"))
    yanked = build_wheel(dists_dir, "demo", "1.1")
    index.add(yanked, yanked=True)

    result = ftlock("solve", "demo==1.1", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["demo==1.1"]
    assert hashes(result.lock, "demo==1.1") == [sha256_file(yanked)]
    assert "# demo 1.1 is yanked; pinned because requested" in result.lock.splitlines()


def test_valueless_data_yanked_attribute_marks_the_file_yanked(
    local_index, dists_dir, ftlock, tmp_path
):
    index = local_index()
    index.add(build_wheel(dists_dir, "demo", "1.0"))
    index.add(build_wheel(dists_dir, "demo", "1.1"), yanked=True)
    url = index.write_static(tmp_path / "static")
    page = tmp_path / "static" / "simple" / "demo" / "index.html"
    html = page.read_text()
    assert 'data-yanked=""' in html
    # PEP 592: "a data-yanked attribute which may have no value"
    page.write_text(html.replace('data-yanked=""', "data-yanked"))

    result = ftlock("solve", "demo", "--index-url", url)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["demo==1.0"]


# --------------------------------------------------------------------------------------
# Requires-Python
# --------------------------------------------------------------------------------------


def test_index_requires_python_excluding_the_target_skips_that_version(
    local_index, dists_dir, ftlock
):
    index = local_index(json=False)  # data-requires-python on the anchor
    index.add(build_wheel(dists_dir, "demo", "1.0"))
    index.add(build_wheel(dists_dir, "demo", "2.0"), requires_python=">=3.12")

    result = ftlock("solve", "demo", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["demo==1.0"]
    assert index.count(prefix="/files/demo-2.0") == 0  # never even read its metadata


@pytest.mark.parametrize(
    ("python", "expected"), [("3.11", "demo==1.0"), ("3.11.7", "demo==2.0")]
)
def test_patch_level_requires_python_depends_on_how_exact_the_target_is(
    local_index, dists_dir, ftlock, python, expected
):
    index = local_index()
    index.add(build_wheel(dists_dir, "demo", "1.0"))
    index.add(build_wheel(dists_dir, "demo", "2.0"), requires_python=">=3.11.5")

    result = ftlock("solve", "demo", "--python", python, index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == [expected]


@pytest.mark.parametrize("newest", ["wheel", "sdist"])
def test_metadata_requires_python_not_on_the_index_falls_back_to_an_older_version(
    local_index, dists_dir, ftlock, newest
):
    index = local_index()
    index.add(build_wheel(dists_dir, "demo", "1.0", requires_python=">=3.8"))
    build = build_wheel if newest == "wheel" else build_sdist
    index.add(build(dists_dir, "demo", "2.0", requires_python=">=3.12"))

    result = ftlock("solve", "demo", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["demo==1.0"]


def test_only_version_whose_metadata_needs_a_newer_python_is_explained(
    local_index, dists_dir, ftlock
):
    index = local_index()
    index.add(build_wheel(dists_dir, "demo", "2.0", requires_python=">=3.11.5"))

    result = ftlock("solve", "demo", index=index)

    assert result.exit_code == 1
    assert error_line(result) == (
        "error: cannot solve: demo 2.0 requires Python >=3.11.5, "
        "but the target is CPython 3.11, linux_x86_64"
    )


# --------------------------------------------------------------------------------------
# --exclude-newer (PEP 700 upload-time)
# --------------------------------------------------------------------------------------


def _dated_project(index, dists_dir: Path) -> None:  # type: ignore[no-untyped-def]
    index.add(build_wheel(dists_dir, "demo", "1.0"), upload_time="2024-01-10T08:00:00Z")
    index.add(build_wheel(dists_dir, "demo", "2.0"), upload_time="2024-03-01T12:00:00Z")
    index.add(build_wheel(dists_dir, "demo", "3.0"), upload_time="2024-06-01T00:00:00Z")


def test_exclude_newer_ignores_files_uploaded_after_the_time(local_index, dists_dir, ftlock):
    index = local_index()
    _dated_project(index, dists_dir)

    result = ftlock("solve", "demo", "--exclude-newer", "2024-03-01T11:59:59Z", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["demo==1.0"]
    assert "# Exclude newer than: 2024-03-01T11:59:59+00:00" in result.lock.splitlines()


@pytest.mark.parametrize(
    ("cutoff", "expected"),
    [
        ("2024-03-01T12:00:00Z", "demo==2.0"),  # uploaded exactly then: still included
        ("2024-03-01T13:00:00+01:00", "demo==2.0"),
        ("2024-03-01T12:59:59+01:00", "demo==1.0"),
    ],
)
def test_exclude_newer_compares_in_utc(local_index, dists_dir, ftlock, cutoff, expected):
    index = local_index()
    _dated_project(index, dists_dir)

    result = ftlock("solve", "demo", "--exclude-newer", cutoff, index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == [expected]


def test_exclude_newer_leaves_later_files_of_an_older_version_out_of_the_hashes(
    local_index, dists_dir, ftlock
):
    index = local_index()
    wheel = build_wheel(dists_dir, "demo", "1.0")
    index.add(wheel, upload_time="2024-01-10T08:00:00Z")
    index.add(build_sdist(dists_dir, "demo", "1.0"), upload_time="2024-09-01T00:00:00Z")

    result = ftlock("solve", "demo", "--exclude-newer", "2024-02-01", index=index)

    assert result.exit_code == 0, result.stderr
    assert hashes(result.lock, "demo==1.0") == [sha256_file(wheel)]


def test_exclude_newer_accepts_a_date_only_value_as_midnight_utc(local_index, dists_dir, ftlock):
    index = local_index()
    _dated_project(index, dists_dir)

    result = ftlock("solve", "demo", "--exclude-newer", "2024-05-31", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["demo==2.0"]
    assert "# Exclude newer than: 2024-05-31T00:00:00+00:00" in result.lock.splitlines()


def test_exclude_newer_with_an_invalid_date_is_a_usage_error(local_index, dists_dir, ftlock):
    index = local_index()
    _dated_project(index, dists_dir)

    result = ftlock("solve", "demo", "--exclude-newer", "last tuesday", index=index)

    assert result.exit_code == 2
    assert result.lock is None
    assert index.count() == 0
    mentions = [line for line in result.stderr.splitlines() if "last tuesday" in line]
    assert len(mentions) == 1, result.stderr
    assert "is not a date (use YYYY-MM-DD or an RFC 3339 time)" in mentions[0]
    assert "Traceback" not in result.stderr


def test_exclude_newer_with_an_invalid_date_prints_exactly_one_error_line(
    local_index, dists_dir, ftlock
):
    index = local_index()
    _dated_project(index, dists_dir)

    result = ftlock("solve", "demo", "--exclude-newer", "2024-13-45", index=index)

    assert result.exit_code == 2
    assert "'2024-13-45' is not a date" in error_line(result)


# --------------------------------------------------------------------------------------
# metadata via PEP 658
# --------------------------------------------------------------------------------------


def test_pep658_metadata_is_used_without_touching_the_wheel(local_index, dists_dir, ftlock):
    index = local_index(pep658=True)
    app = build_wheel(dists_dir, "app", "1.0", requires_dist=["lib"], padding_files=10)
    lib = build_wheel(dists_dir, "lib", "1.0")
    index.add(app)
    index.add(lib)

    result = ftlock("solve", "app", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "lib==1.0"]
    assert index.counts() == {
        "/simple/app/": 1,
        "/simple/lib/": 1,
        f"/files/{app.name}.metadata": 1,
        f"/files/{lib.name}.metadata": 1,
    }
    assert index.count(f"/files/{app.name}") == 0
    assert index.count(f"/files/{lib.name}") == 0


@pytest.mark.parametrize("json_pages", [True, False])
def test_pep658_metadata_with_a_wrong_hash_is_refused(local_index, dists_dir, ftlock, json_pages):
    index = local_index(pep658=True, json=json_pages)
    entry = index.add(build_wheel(dists_dir, "demo", "1.0"))
    bogus = hashlib.sha256(b"not the metadata").hexdigest()
    attr = "render_project_json" if json_pages else "render_project_html"
    render = getattr(index, attr)
    # The page advertises a hash that the served .metadata file does not have.
    setattr(
        index,
        attr,
        lambda project: render(project).replace(entry.metadata_sha256.encode(), bogus.encode()),
    )

    result = ftlock("solve", "demo", index=index)

    assert result.exit_code == 1
    assert result.lock is None
    line = error_line(result)
    assert "demo-1.0-py3-none-any.whl.metadata" in line
    assert "hash" in line


def test_pep658_file_on_a_file_index_is_hash_checked(local_index, dists_dir, ftlock, tmp_path):
    index = local_index(pep658=True)
    wheel = build_wheel(dists_dir, "demo", "1.0", requires_dist=["lib"])
    index.add(wheel)
    url = index.write_static(tmp_path / "static")
    meta = tmp_path / "static" / "files" / f"{wheel.name}.metadata"
    meta.write_bytes(meta.read_bytes().replace(b"Requires-Dist: lib", b"Requires-Dist: evil"))

    result = ftlock("solve", "demo", "--index-url", url)

    assert result.exit_code == 1
    line = error_line(result)
    assert f"{wheel.name}.metadata" in line
    assert "hash" in line


def test_advertised_metadata_file_missing_falls_back_to_range_requests(
    local_index, dists_dir, ftlock
):
    index = local_index(pep658=True)
    wheel = build_wheel(dists_dir, "app", "1.0", requires_dist=["lib"], padding_files=10)
    index.add(wheel)
    index.add(build_wheel(dists_dir, "lib", "1.0"), pep658=False)
    index.errors[f"/files/{wheel.name}.metadata"] = 404

    result = ftlock("solve", "app", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "lib==1.0"]
    assert index.count(f"/files/{wheel.name}.metadata") == 1
    reads = [r for r in index.requests if r[1] == f"/files/{wheel.name}"]
    assert reads and all(rng is not None for _m, _p, rng in reads), reads


# --------------------------------------------------------------------------------------
# metadata via HTTP range requests
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("padding", [10, 40])
def test_large_wheel_metadata_is_read_with_range_requests_only(
    local_index, dists_dir, ftlock, padding
):
    index = local_index(pep658=False)
    wheel = build_wheel(dists_dir, "big", "1.0", requires_dist=["small"], padding_files=padding)
    index.add(wheel)
    index.add(build_wheel(dists_dir, "small", "1.0"))
    size = wheel.stat().st_size
    assert size > TAIL

    result = ftlock("solve", "big", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["big==1.0", "small==1.0"]
    reads = [r for r in index.requests if r[1] == f"/files/{wheel.name}"]
    assert reads, index.requests
    assert all(method == "GET" and rng is not None for method, _p, rng in reads), reads
    fetched = sum(range_bytes(rng, size) for _m, _p, rng in reads)
    assert fetched <= TAIL + 8 * 1024  # the tail, plus at most one small extra range
    assert fetched < size
    if padding == 40:  # ~330 KiB wheel
        assert fetched * 4 < size


def test_index_without_range_support_falls_back_to_a_full_download(
    local_index, dists_dir, ftlock
):
    index = local_index(pep658=False, ranges=False)
    wheel = build_wheel(dists_dir, "big", "1.0", requires_dist=["small>=2"], padding_files=10)
    small = build_wheel(dists_dir, "small", "2.0")
    index.add(wheel)
    index.add(build_wheel(dists_dir, "small", "1.0"))
    index.add(small)

    result = ftlock("solve", "big", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["big==1.0", "small==2.0"]
    assert hashes(result.lock, "big==1.0") == [sha256_file(wheel)]
    assert hashes(result.lock, "small==2.0") == [sha256_file(small)]
    # the first "range" request already returned the whole file: no second download
    assert index.count(f"/files/{wheel.name}") == 1


def test_full_download_fallback_rejects_a_wheel_not_matching_the_index_hash(
    local_index, dists_dir, ftlock
):
    index = local_index(pep658=False, ranges=False)
    wheel = build_wheel(dists_dir, "demo", "1.0")
    index.add(wheel)
    render = index.render_project_json
    good = sha256_file(wheel)
    bogus = hashlib.sha256(b"other").hexdigest()
    index.render_project_json = lambda project: render(project).replace(  # type: ignore[method-assign]
        good.encode(), bogus.encode()
    )

    result = ftlock("solve", "demo", index=index)

    assert result.exit_code == 1
    line = error_line(result)
    assert "demo-1.0-py3-none-any.whl" in line
    assert "sha256" in line


# --------------------------------------------------------------------------------------
# sdists: static PKG-INFO, PEP 517 hook, --no-build
# --------------------------------------------------------------------------------------


@pytest.fixture
def backend_log(tmp_path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    """File the in-tree test backend appends each hook call to; no pip index for builds."""
    log = tmp_path / "backend.log"
    monkeypatch.setenv(BACKEND_LOG_ENV, str(log))
    # If a build ever tried to install build requirements, fail fast instead of
    # looking for a registry.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    return log


@pytest.mark.parametrize("flags", [(), ("--no-build",)])
def test_sdist_with_static_pkg_info_is_used_without_a_build(
    local_index, dists_dir, ftlock, backend_log, flags
):
    index = local_index()
    # A setuptools sdist: building it would need setuptools from an index (not offered).
    sdist = build_sdist(dists_dir, "app", "1.0", requires_dist=["lib>=2"], metadata_version="2.2")
    lib = build_wheel(dists_dir, "lib", "2.0")
    index.add(sdist)
    index.add(build_wheel(dists_dir, "lib", "1.0"))
    index.add(lib)

    result = ftlock("solve", "app", *flags, index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "lib==2.0"]
    assert hashes(result.lock, "app==1.0") == [sha256_file(sdist)]
    assert not backend_log.exists()


def test_sdist_with_dynamic_dependencies_runs_the_pep517_metadata_hook(
    local_index, dists_dir, ftlock, backend_log
):
    index = local_index()
    sdist = build_sdist(dists_dir, "app", "1.0", requires_dist=["lib>=2"], pep517_backend=True)
    index.add(sdist)
    index.add(build_wheel(dists_dir, "lib", "1.0"))
    index.add(build_wheel(dists_dir, "lib", "2.0"))

    result = ftlock("solve", "app", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "lib==2.0"]
    assert "    # via app" in result.lock.splitlines()
    hooks = backend_log.read_text().splitlines()
    assert "prepare_metadata_for_build_wheel app 1.0" in hooks
    assert not any(h.startswith("build_wheel ") for h in hooks)


def test_no_build_turns_a_dynamic_sdist_into_an_error_naming_it(
    local_index, dists_dir, ftlock, backend_log
):
    index = local_index()
    index.add(build_sdist(dists_dir, "app", "1.0", requires_dist=["lib"], pep517_backend=True))
    index.add(build_wheel(dists_dir, "lib", "1.0"))

    result = ftlock("solve", "app", "--no-build", index=index)

    assert result.exit_code == 1
    assert result.lock is None
    line = error_line(result)
    assert line == (
        "error: app: app-1.0.tar.gz has no static metadata and needs a PEP 517 build, "
        "which --no-build forbids"
    )
    assert not backend_log.exists()


def test_sdist_whose_metadata_build_fails_gives_a_one_line_error_naming_it(
    local_index, dists_dir, ftlock, backend_log
):
    index = local_index()
    # Metadata-Version 2.1 PKG-INFO is not trusted; its setuptools build cannot get
    # setuptools (PIP_NO_INDEX), so the PEP 517 metadata step fails.
    index.add(build_sdist(dists_dir, "oldstyle", "1.0", metadata_version="2.1"))

    result = ftlock("solve", "oldstyle", index=index)

    assert result.exit_code == 1
    assert result.lock is None
    assert error_line(result).startswith(
        "error: oldstyle: building metadata (PEP 517) failed: "
    )


# --------------------------------------------------------------------------------------
# wheel tags for a foreign target
# --------------------------------------------------------------------------------------


def test_only_a_wheel_for_another_python_is_not_installable(local_index, dists_dir, ftlock):
    index = local_index()
    index.add(build_wheel(dists_dir, "fast", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64"))

    result = ftlock("solve", "fast", index=index)

    assert result.exit_code == 1
    assert result.lock is None
    line = error_line(result)
    assert "fast" in line
    assert "no version of fast installs on CPython 3.11, linux_x86_64" in line
    assert index.count(prefix="/files/") == 0


@pytest.mark.parametrize(
    ("platform", "expected"), [("win_amd64", "winonly==1.0"), ("linux_x86_64", None)]
)
def test_windows_only_wheel_is_used_for_windows_and_not_for_linux(
    local_index, dists_dir, ftlock, platform, expected
):
    index = local_index()
    wheel = build_wheel(dists_dir, "winonly", "1.0", tag="cp311-cp311-win_amd64")
    index.add(wheel)

    result = ftlock("solve", "winonly", "--platform", platform, index=index)

    if expected is None:
        assert result.exit_code == 1
        assert "no version of winonly installs on CPython 3.11, linux_x86_64" in error_line(
            result
        )
    else:
        assert result.exit_code == 0, result.stderr
        assert pins(result.lock) == [expected]
        assert hashes(result.lock, expected) == [sha256_file(wheel)]


@pytest.mark.parametrize(
    ("platform", "tag", "installs"),
    [
        ("linux_x86_64", "cp311-cp311-manylinux1_x86_64", True),
        ("linux_x86_64", "cp311-cp311-linux_x86_64", True),
        ("linux_x86_64", "cp311-cp311-musllinux_1_2_x86_64", False),
        ("linux_aarch64", "cp311-cp311-manylinux2014_aarch64", True),
        ("linux_aarch64", "cp311-cp311-manylinux_2_17_x86_64", False),
        ("manylinux_2_17_x86_64", "cp311-cp311-manylinux_2_28_x86_64", False),
        ("manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64", True),
        ("macosx_14_0_arm64", "cp311-cp311-macosx_11_0_universal2", True),
        ("macosx_14_0_arm64", "cp311-cp311-macosx_10_9_x86_64", False),
        ("macosx_14_0_arm64", "cp311-cp311-macosx_15_0_arm64", False),
        ("win_amd64", "cp311-abi3-win_amd64", True),
        ("win_amd64", "cp312-abi3-win_amd64", False),
        ("win_amd64", "cp311-cp311-win32", False),
    ],
)
def test_wheel_tag_compatibility_is_judged_for_the_target_platform(
    local_index, dists_dir, ftlock, platform, tag, installs
):
    index = local_index()
    wheel = build_wheel(dists_dir, "native", "1.0", tag=tag)
    index.add(wheel)

    result = ftlock("solve", "native", "--platform", platform, index=index)

    if installs:
        assert result.exit_code == 0, result.stderr
        assert hashes(result.lock, "native==1.0") == [sha256_file(wheel)]
    else:
        assert result.exit_code == 1, result.lock
        assert "no version of native installs on CPython 3.11, " in error_line(result)


def test_lock_hashes_every_compatible_wheel_and_the_sdist_but_no_incompatible_wheel(
    local_index, dists_dir, ftlock
):
    index = local_index()
    compatible = [
        build_wheel(dists_dir, "multi", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64"),
        build_wheel(dists_dir, "multi", "1.0", tag="cp311-abi3-manylinux_2_28_x86_64"),
        build_wheel(dists_dir, "multi", "1.0", tag="py3-none-any"),
        build_wheel(dists_dir, "multi", "1.0", tag="py2.py3-none-any"),
        build_wheel(dists_dir, "multi", "1.0", tag="cp37-abi3-manylinux2014_x86_64"),
        build_sdist(dists_dir, "multi", "1.0"),
    ]
    incompatible = [
        build_wheel(dists_dir, "multi", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64"),
        build_wheel(dists_dir, "multi", "1.0", tag="cp311-cp311-win_amd64"),
        build_wheel(dists_dir, "multi", "1.0", tag="cp311-cp311-manylinux_2_34_x86_64"),
        build_wheel(dists_dir, "multi", "1.0", tag="cp311-cp311-manylinux_2_17_aarch64"),
        build_wheel(dists_dir, "multi", "1.0", tag="cp311-cp311-macosx_11_0_arm64"),
        build_wheel(dists_dir, "multi", "1.0", tag="pp310-pypy310_pp73-manylinux_2_17_x86_64"),
        build_wheel(dists_dir, "multi", "1.0", tag="py2-none-any"),
    ]
    for path in compatible + incompatible:
        index.add(path)

    result = ftlock("solve", "multi", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["multi==1.0"]
    assert hashes(result.lock, "multi==1.0") == sorted(sha256_file(p) for p in compatible)


# --------------------------------------------------------------------------------------
# pure functions
# --------------------------------------------------------------------------------------


def test_parse_json_page_resolves_urls_and_reads_pep592_658_700_fields():
    body = json.dumps(
        {
            "meta": {"api-version": "1.1"},
            "name": "demo",
            "files": [
                {
                    "filename": "demo-1.0-py3-none-any.whl",
                    "url": "../../files/demo-1.0-py3-none-any.whl",
                    "hashes": {"sha256": "a" * 64},
                    "requires-python": ">=3.8",
                    "yanked": "broken build",
                    "upload-time": "2024-01-01T00:00:00.123Z",
                    "size": 1234,
                    "core-metadata": {"sha256": "b" * 64},
                },
                {
                    "filename": "demo-1.0.tar.gz",
                    "url": "https://mirror.invalid/demo-1.0.tar.gz",
                    "hashes": {},
                    "yanked": False,
                    "dist-info-metadata": True,
                },
            ],
        }
    ).encode()

    page = parse_json_page(body, "http://127.0.0.1:9/simple/demo/", "demo", "http://127.0.0.1:9/simple")

    wheel, sdist = page.files
    assert wheel.url == "http://127.0.0.1:9/files/demo-1.0-py3-none-any.whl"
    assert wheel.sha256 == "a" * 64
    assert wheel.requires_python == ">=3.8"
    assert (wheel.yanked, wheel.yanked_reason) == (True, "broken build")
    assert wheel.upload_time == pytest.approx(1704067200.123)
    assert wheel.size == 1234
    assert (wheel.has_metadata_file, wheel.metadata_sha256) == (True, "b" * 64)
    assert sdist.url == "https://mirror.invalid/demo-1.0.tar.gz"
    assert sdist.sha256 is None
    assert (sdist.yanked, sdist.yanked_reason) == (False, None)
    assert (sdist.has_metadata_file, sdist.metadata_sha256) == (True, None)
    assert sdist.upload_time is None


def test_parse_html_page_reads_hash_fragment_and_data_attributes():
    body = b"""<!DOCTYPE html><html><body>
    <a href="../../files/demo-1.0-py3-none-any.whl#sha256=%s"
       data-requires-python="&gt;=3.8,&lt;4" data-yanked=""
       data-dist-info-metadata="sha256=%s">demo-1.0-py3-none-any.whl</a><br/>
    <a href="/files/demo-1.1.tar.gz#md5=0123" data-core-metadata="true">demo-1.1.tar.gz</a>
    <a href="../../files/demo%%2B-2.0.tar.gz" data-core-metadata="false">x</a>
    </body></html>""" % (b"c" * 64, b"d" * 64)

    page = parse_html_page(body, "http://127.0.0.1:9/simple/demo/", "demo", "http://127.0.0.1:9/simple")

    first, second, third = page.files
    assert first.filename == "demo-1.0-py3-none-any.whl"
    assert first.url == "http://127.0.0.1:9/files/demo-1.0-py3-none-any.whl"
    assert first.sha256 == "c" * 64
    assert first.requires_python == ">=3.8,<4"
    assert (first.yanked, first.yanked_reason) == (True, None)
    assert (first.has_metadata_file, first.metadata_sha256) == (True, "d" * 64)
    assert second.url == "http://127.0.0.1:9/files/demo-1.1.tar.gz"
    assert second.sha256 is None
    assert (second.has_metadata_file, second.metadata_sha256) == (True, None)
    assert third.filename == "demo+-2.0.tar.gz"
    assert third.has_metadata_file is False


def _fake_range_server(data: bytes, log: list[str], *, honour: bool = True):  # type: ignore[no-untyped-def]
    def fetch(header: str) -> tuple[int, str | None, bytes]:
        log.append(header)
        if not honour:
            return 200, None, data
        spec = header.removeprefix("bytes=")
        first, _, last = spec.partition("-")
        if first == "":
            start, end = max(0, len(data) - int(last)), len(data) - 1
        else:
            start, end = int(first), min(int(last), len(data) - 1)
        return 206, f"bytes {start}-{end}/{len(data)}", data[start : end + 1]

    return fetch


def test_sparse_remote_file_reads_wheel_metadata_from_the_tail(tmp_path):
    wheel = build_wheel(tmp_path, "demo", "1.0", requires_dist=["lib"], padding_files=24)
    data = wheel.read_bytes()
    log: list[str] = []

    remote = SparseRemoteFile(_fake_range_server(data, log))
    with zipfile.ZipFile(remote) as archive:  # type: ignore[arg-type]
        metadata = archive.read("demo-1.0.dist-info/METADATA")
        head = archive.read("demo/__init__.py")  # at the very start: one more range

    assert remote.length == len(data)
    assert metadata == render_metadata("demo", "1.0", requires_dist=["lib"]).encode()
    assert head.startswith(b'"""Test package demo.')
    assert log[0] == f"bytes=-{TAIL}"
    assert len(log) == 2
    assert log[1].startswith("bytes=0-")
    assert zipfile.ZipFile(io.BytesIO(data)).read("demo/__init__.py") == head


def test_a_central_directory_larger_than_the_tail_costs_one_more_request_not_two(tmp_path):
    """Thousands of files (transformers, torch): the directory does not fit the tail, and
    METADATA lies before it, behind RECORD.  The second range reads both."""
    wheel = build_wheel(tmp_path, "demo", "1.0", requires_dist=["lib"], padding_files=1200)
    data = wheel.read_bytes()
    directory_start = zipfile.ZipFile(io.BytesIO(data)).start_dir
    assert len(data) - directory_start > TAIL
    log: list[str] = []

    remote = SparseRemoteFile(_fake_range_server(data, log))
    with zipfile.ZipFile(remote) as archive:  # type: ignore[arg-type]
        metadata = archive.read("demo-1.0.dist-info/METADATA")

    assert metadata == render_metadata("demo", "1.0", requires_dist=["lib"]).encode()
    assert len(log) == 2
    assert int(log[1].removeprefix("bytes=").split("-")[0]) < directory_start


def _zip(members: list[tuple[str, bytes]], **options) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", **options) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


META = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: lib\n"


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_read_member_reads_the_chosen_metadata_like_zipfile(compression):
    data = _zip(
        [("demo/__init__.py", b"x = 1\n" * 500), ("other-2.0.dist-info/METADATA", b"Name: other\n"),
         ("demo-1.0.dist-info/METADATA", META)],
        compression=compression,
    )
    chosen: list[list[str]] = []

    def choose(names: list[str]) -> str:
        chosen.append(names)
        return "demo-1.0.dist-info/METADATA"

    assert read_member(io.BytesIO(data), choose) == META
    assert chosen == [["other-2.0.dist-info/METADATA", "demo-1.0.dist-info/METADATA"]]


def test_read_member_reads_zip64_members_and_leaves_damaged_ones_to_zipfile():
    zip64 = io.BytesIO()
    with zipfile.ZipFile(zip64, "w") as archive:
        with archive.open("demo-1.0.dist-info/METADATA", "w", force_zip64=True) as member:
            member.write(META)
    plain = _zip([("demo-1.0.dist-info/METADATA", META)], compression=zipfile.ZIP_STORED)
    damaged = plain.replace(b"Requires-Dist: lib", b"Requires-Dist: LIB")  # CRC no longer matches

    def first(names: list[str]) -> str:
        return names[0]

    assert read_member(io.BytesIO(zip64.getvalue()), first) == META  # sizes in a ZIP64 extra
    assert read_member(io.BytesIO(damaged), first) is None
    # the caller's fallback, zipfile, refuses the damaged member
    with pytest.raises(zipfile.BadZipFile):
        read_wheel_metadata(io.BytesIO(damaged), "demo", "demo.whl")


def test_wheel_metadata_over_ranges_reads_one_directory_entry_in_two_requests(tmp_path):
    wheel = build_wheel(tmp_path, "demo", "1.0", requires_dist=["lib"], padding_files=1200)
    log: list[str] = []

    remote = SparseRemoteFile(_fake_range_server(wheel.read_bytes(), log))
    metadata = read_wheel_metadata(remote, "demo", "demo.whl")  # type: ignore[arg-type]

    assert metadata.requires_dist == ("lib",)
    assert len(log) == 2


def _many_files(count: int) -> list[tuple[str, bytes]]:
    """Members enough for a central directory longer than the 64 KiB tail."""
    return [(f"demo/m{i:05}.py", b"x = %d\n" % i) for i in range(count)]


def _sizes(log: list[str]) -> list[int]:
    return [int(last) - int(first) + 1 for first, _, last in (h.removeprefix("bytes=").partition("-") for h in log[1:])]


def test_metadata_whose_entry_is_in_the_tail_is_fetched_alone_not_the_whole_directory():
    data = _zip([*_many_files(3000), ("demo-1.0.dist-info/METADATA", META), ("demo-1.0.dist-info/RECORD", b"")])
    directory = len(data) - data.rfind(b"PK\x05\x06") + 3000 * 50  # more than the tail holds
    assert directory > TAIL
    log: list[str] = []

    metadata = read_wheel_metadata(SparseRemoteFile(_fake_range_server(data, log)), "demo", "demo.whl")  # type: ignore[arg-type]

    assert metadata.requires_dist == ("lib",)
    assert len(log) == 2 and _sizes(log)[0] < 2048  # the member alone, not ~190 KB of directory


def test_metadata_whose_entry_is_not_in_the_tail_is_found_through_the_whole_directory():
    # dist-info written first: its directory entry is far before the tail
    data = _zip([("demo-1.0.dist-info/METADATA", META), *_many_files(3000)])
    log: list[str] = []

    metadata = read_wheel_metadata(SparseRemoteFile(_fake_range_server(data, log)), "demo", "demo.whl")  # type: ignore[arg-type]

    assert metadata.requires_dist == ("lib",)


def test_another_projects_metadata_in_the_tail_does_not_stand_in_for_the_wheels_own():
    other = b"Metadata-Version: 2.1\nName: vendored\nVersion: 9.0\n"
    data = _zip([("demo-1.0.dist-info/METADATA", META), *_many_files(3000),
                 ("vendored-9.0.dist-info/METADATA", other)])
    log: list[str] = []

    metadata = read_wheel_metadata(SparseRemoteFile(_fake_range_server(data, log)), "demo", "demo.whl")  # type: ignore[arg-type]

    assert (metadata.name, metadata.requires_dist) == ("demo", ("lib",))


def test_a_directory_signature_inside_a_file_name_does_not_misplace_the_metadata():
    fake = "demo/PK\x01\x02" + "x" * 40 + ".py"
    data = _zip([*_many_files(3000), (fake, b""), (fake + "2", b""), ("demo-1.0.dist-info/METADATA", META)])

    metadata = read_wheel_metadata(SparseRemoteFile(_fake_range_server(data, [])), "demo", "demo.whl")  # type: ignore[arg-type]

    assert metadata.requires_dist == ("lib",)


def test_sparse_remote_file_reports_a_server_ignoring_ranges_with_the_body(tmp_path):
    data = build_wheel(tmp_path, "demo", "1.0").read_bytes()
    log: list[str] = []

    with pytest.raises(RangeNotSupported) as info:
        SparseRemoteFile(_fake_range_server(data, log, honour=False))

    assert info.value.body == data
    assert log == [f"bytes=-{TAIL}"]


@pytest.mark.parametrize(
    ("metadata_version", "dynamic", "static"),
    [
        ("2.2", [], True),
        ("2.4", ["Summary"], True),
        ("2.1", [], False),
        ("2.2", ["Requires-Dist"], False),
        ("2.3", ["requires-python"], False),
        ("2.2", ["Provides-Extra"], False),
    ],
)
def test_static_pkg_info_trusts_only_metadata_2_2_without_dynamic_dependencies(
    metadata_version, dynamic, static
):
    raw = render_metadata(
        "demo",
        "1.0",
        metadata_version=metadata_version,
        requires_dist=["lib>=1", "extra-lib; extra == 'x'"],
        requires_python=">=3.9",
        provides_extra=["x"],
        dynamic=dynamic,
    ).encode()

    parsed = static_pkg_info(raw, "demo-1.0.tar.gz")

    if not static:
        assert parsed is None
    else:
        assert parsed is not None
        assert (parsed.name, parsed.version) == ("demo", "1.0")
        assert parsed.requires_dist == ("lib>=1", "extra-lib; extra == 'x'")
        assert parsed.requires_python == ">=3.9"
        assert parsed.provides_extra == ("x",)


def test_page_entries_are_decoded_only_for_asked_versions_and_installable_filenames(monkeypatch):
    """A real page lists every platform of every release; only the files the solver can
    use (the version it asks about, wheels for the target, sdists) are decoded."""
    from ftlock.index import pages
    from ftlock.resolve.candidates import CandidateFinder
    from ftlock.resolve.target import Target

    names = [
        "demo-2.0-py3-none-any.whl",
        "demo-2.0-cp311-cp311-win_amd64.whl",
        "demo-2.0.tar.gz",
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.tar.gz",
    ]
    files = [{"filename": n, "url": n, "hashes": {"sha256": "a" * 64}} for n in names]
    body = json.dumps({"files": files}).encode()
    page = pages.parse_json_page(body, "http://127.0.0.1:9/simple/demo/", "demo", "http://127.0.0.1:9/simple")
    decoded: list[str] = []
    decode = pages._ENTRY.decode
    monkeypatch.setattr(pages, "_ENTRY", type("D", (), {"decode": staticmethod(
        lambda raw: decoded.append(json.loads(bytes(raw))["filename"]) or decode(raw))})())

    class Index:
        def project(self, name: str):  # type: ignore[no-untyped-def]
            return page

    finder = CandidateFinder(Index(), Target.from_options("3.11", "linux_x86_64"))  # type: ignore[arg-type]
    newest = next(iter(finder.candidates("demo")))

    assert str(newest.version) == "2.0"
    assert [f.filename for f in newest.files] == ["demo-2.0-py3-none-any.whl", "demo-2.0.tar.gz"]
    assert decoded == ["demo-2.0-py3-none-any.whl", "demo-2.0.tar.gz"]


def test_files_are_grouped_by_the_version_their_name_states_whatever_their_order():
    from ftlock.index.filenames import group_by_version

    files = [
        ("demo-1.0-py3-none-any.whl", 1),
        ("demo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", 2),
        ("demo-1.0-1-py3-none-any.whl", 3),  # a build tag
        ("demo-1.0-evil.whl", 4),  # not a wheel name: skipped
        ("other-1.0-py3-none-any.whl", 5),  # another project
        ("demo-2.0-py3-none-any.whl", 6),
        ("demo-1.0-py2.py3-none-any.whl", 7),  # back to 1.0 after 2.0
        (None, 8),  # not a string: skipped
        ("demo-1.0.tar.gz", 9),
        ("demo-1.0.0.zip", 10),  # the same version, written longer
    ]

    grouped = group_by_version(iter(files), "demo")  # type: ignore[arg-type]

    assert {str(v): sorted(e for _, e in items) for v, items in grouped.items()} == {
        "1.0": [1, 2, 3, 7, 9, 10],
        "2.0": [6],
    }
