"""Specification: an index is untrusted input.

A hostile index (tests/support/hostile.py, on 127.0.0.1) may send anything.  Whatever it
sends, ftlock:

* uses only 64-hex-digit sha256 values as hashes — anything else never names a cache path
  or a lock line; the file is downloaded and the hash of what arrived is locked, with one
  warning;
* never lets metadata one index gave answer for another index, unless it was read from a
  file whose bytes matched the hash;
* bounds every body and decompression (a page, a ``.metadata`` file, a wheel's directory
  and METADATA), in size and in total time — checked in a child process whose address
  space is limited (``RLIMIT_AS``), so a bomb would crash it rather than the machine;
* never follows a ``file:`` link from an http(s) page;
* sends credentials only to the exact scheme, host and port they were given for;
* refuses metadata whose name or version is not the file's;
* locks a hash for every file, downloading those the index gave none for.

Each failure is one ``error:`` line and exit code 1; never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftlock.index.http import Http
from ftlock.index.settings import origin
from tests.support.dists import build_wheel, render_metadata, sha256_file
from tests.support.faults import body as replace_body
from tests.support.hostile import (
    Answer,
    HostileIndex,
    endless,
    gzip_bomb,
    html_page,
    json_page,
    ranged,
    raw_json_page,
)

MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTLOCK_RETRY_BACKOFF", "0")


@pytest.fixture
def evil():  # type: ignore[no-untyped-def]
    with HostileIndex() as index:
        yield index


@pytest.fixture
def app_wheel(dists_dir: Path) -> Path:
    return build_wheel(dists_dir, "app", "1.0")


def serve_wheel(evil: HostileIndex, wheel: Path, metadata: bytes | None = None) -> str:
    """Serve ``wheel`` (and a PEP 658 file when ``metadata`` is given); returns its URL."""
    evil.route(f"/files/{wheel.name}", wheel.read_bytes())
    if metadata is not None:
        evil.route(f"/files/{wheel.name}.metadata", metadata)
    return f"{evil.base_url}/files/{wheel.name}"


def entry(wheel: Path, url: str, **fields: object) -> dict[str, object]:
    return {"filename": wheel.name, "url": url, **fields}


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr
    return errors[0]


def lock_hashes(lock: str) -> list[str]:
    return [line.split("sha256:")[1].rstrip(" \\") for line in lock.splitlines() if "--hash=" in line]


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------------------
# 1. hash strings
# --------------------------------------------------------------------------------------


def test_a_hash_that_is_a_path_names_no_file_outside_the_cache(evil, app_wheel, ftlock, tmp_path):
    victim = tmp_path / "project" / "settings"
    victim.parent.mkdir()
    victim.with_suffix(".json").write_text("keep me")
    url = serve_wheel(evil, app_wheel, metadata=render_metadata("app", "1.0").encode())
    evil.route("/simple/app/", json_page([
        entry(app_wheel, url, hashes={"sha256": "../../../../project/settings"}, **{"core-metadata": True}),
    ]))
    before = files_under(tmp_path) - files_under(tmp_path / "cache")

    result = ftlock("solve", "app", "--index-url", evil.url)

    assert result.exit_code == 0, result.stderr
    after = files_under(tmp_path) - files_under(tmp_path / "cache")
    assert after - before == {tmp_path / "out.txt"}
    assert victim.with_suffix(".json").read_text() == "keep me"
    assert lock_hashes(result.lock) == [sha256_file(app_wheel)]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: {app_wheel.name}: the index's sha256 for it is not a sha256; ftlock "
        "downloaded the file and locked the hash of what it received"
    ]


def test_a_hash_with_newlines_cannot_inject_lock_lines(evil, app_wheel, ftlock):
    url = serve_wheel(evil, app_wheel)
    injected = "0" * 64 + "\n--extra-index-url https://evil.invalid/simple\nevil==6.6.6"
    evil.route("/simple/app/", json_page([entry(app_wheel, url, hashes={"sha256": injected})]))

    result = ftlock("solve", "app", "--index-url", evil.url)

    assert result.exit_code == 0, result.stderr
    assert "evil" not in result.lock
    body = [line for line in result.lock.splitlines() if not line.startswith("#")]
    assert body[:2] == [f"--index-url {evil.url}", "app==1.0 \\"]
    assert [line for line in body if line.startswith("--")] == [f"--index-url {evil.url}"]
    assert lock_hashes(result.lock) == [sha256_file(app_wheel)]


@pytest.mark.parametrize(
    "claimed",
    ["NOTAHASH", 12345, ["0" * 64], {"sha256": "0" * 64}, "0" * 63, "g" * 64, True],
    ids=["word", "number", "list", "object", "short", "not-hex", "bool"],
)
def test_a_hash_that_is_not_a_sha256_is_no_hash(evil, app_wheel, ftlock, claimed):
    url = serve_wheel(evil, app_wheel)
    evil.route("/simple/app/", json_page([entry(app_wheel, url, hashes={"sha256": claimed})]))

    result = ftlock("solve", "app", "--index-url", evil.url)

    assert result.exit_code == 0, result.stderr
    assert lock_hashes(result.lock) == [sha256_file(app_wheel)]
    assert "NOTAHASH" not in result.lock


def test_an_html_fragment_hash_that_is_a_path_is_no_hash(evil, app_wheel, ftlock, tmp_path):
    url = serve_wheel(evil, app_wheel)
    evil.route("/simple/app/", html_page([f'<a href="{url}#sha256=../../../x">{app_wheel.name}</a>']))

    result = ftlock("solve", "app", "--index-url", evil.url)

    assert result.exit_code == 0, result.stderr
    assert lock_hashes(result.lock) == [sha256_file(app_wheel)]
    assert not (tmp_path / "x.json").exists()


def test_the_uppercase_spelling_of_a_sha256_is_the_same_hash(evil, app_wheel, ftlock):
    url = serve_wheel(evil, app_wheel)
    real = sha256_file(app_wheel)
    evil.route("/simple/app/", json_page([entry(app_wheel, url, hashes={"sha256": real.upper()})]))

    result = ftlock("solve", "app", "--index-url", evil.url)

    assert result.exit_code == 0, result.stderr
    assert lock_hashes(result.lock) == [real]
    assert "warning" not in result.stderr


# --------------------------------------------------------------------------------------
# 2. one index's metadata never answers for another
# --------------------------------------------------------------------------------------


def test_metadata_a_hostile_index_claims_for_a_good_wheel_does_not_poison_the_good_index(
    evil, local_index, dists_dir, ftlock
):
    good = local_index(pep658=True)
    lib = build_wheel(dists_dir, "lib", "1.0")
    good.add(lib)
    helper = build_wheel(dists_dir / "evil", "evil-helper", "1.0")
    # the hostile index claims the good wheel's hash, with its own .metadata
    url = serve_wheel(
        evil, lib, metadata=render_metadata("lib", "1.0", requires_dist=["evil-helper"]).encode()
    )
    evil.route("/simple/lib/", json_page([
        entry(lib, url, hashes={"sha256": sha256_file(lib)}, **{"core-metadata": True})
    ], name="lib"))
    helper_url = serve_wheel(evil, helper)
    evil.route("/simple/evil-helper/", json_page([
        entry(helper, helper_url, hashes={"sha256": sha256_file(helper)})
    ], name="evil-helper"))

    hostile = ftlock("solve", "lib", "--index-url", evil.url)
    assert hostile.exit_code == 0, hostile.stderr
    assert "evil-helper==1.0" in hostile.lock  # that index's own answer, for that index

    honest = ftlock("solve", "lib", "--index-url", good.url)  # the same cache

    assert honest.exit_code == 0, honest.stderr
    assert "evil-helper" not in honest.lock
    assert good.count(f"/files/{lib.name}.metadata") == 1


# --------------------------------------------------------------------------------------
# 3. bounded bodies and decompression (in a child process with a bounded address space)
# --------------------------------------------------------------------------------------

#: enough for ftlock and one body at its limit (a 256 MiB page); far less than any bomb
ADDRESS_SPACE = 1536 * MiB

_BOUNDED = (
    "import resource, sys\n"
    "resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))\n"
    "from ftlock.cli import run\n"
    "sys.argv = ['ftlock', *sys.argv[1:]]\n"
    "run()\n"
)


def run_bounded(
    *args: str, tmp_path: Path, timeout: float = 90, output: bool = True
) -> subprocess.CompletedProcess[str]:
    """``ftlock ARGS`` in a child whose address space is limited to ADDRESS_SPACE."""
    env = {
        **os.environ,
        "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MiB of address space per thread arena
        "FTLOCK_RETRY_BACKOFF": "0",
    }
    command = [
        sys.executable, "-c", _BOUNDED.format(limit=ADDRESS_SPACE),
        "solve", *args, "--python", "3.11", "--platform", "linux_x86_64",
        "--cache-dir", str(tmp_path / "cache"), *(["-o", str(tmp_path / "out.txt")] if output else []),
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def test_a_gzip_bomb_page_is_cut_off_at_the_page_limit(evil, tmp_path):
    evil.route("/simple/app/", gzip_bomb(4 * 1024 * MiB))

    result = run_bounded("app", "--index-url", evil.url, tmp_path=tmp_path)

    assert result.returncode == 1
    assert one_error_line(result.stderr) == (
        f"error: {evil.url}/app/: the page is larger than the 256 MiB ftlock accepts "
        '(see docs/reliability.md, "Limits")'
    )
    assert not (tmp_path / "out.txt").exists()


def test_a_page_body_that_never_ends_is_cut_off_at_the_page_limit(evil, tmp_path):
    evil.route("/simple/app/", endless())

    result = run_bounded("app", "--index-url", evil.url, tmp_path=tmp_path)

    assert result.returncode == 1
    assert "the page is larger than the 256 MiB" in one_error_line(result.stderr)


def test_a_body_that_trickles_in_for_ever_is_cut_off_in_time(evil, tmp_path):
    evil.route("/simple/app/", endless(b" ", delay=0.05))  # each read well within --timeout
    started = time.monotonic()

    result = run_bounded("app", "--index-url", evil.url, "--timeout", "0.3", tmp_path=tmp_path)

    assert result.returncode == 1
    assert one_error_line(result.stderr) == (
        f"error: {evil.url}/app/: the page did not arrive within 3s "
        "(--timeout 0.3s per read, 10x for the whole body)"
    )
    assert time.monotonic() - started < 30


def test_a_metadata_file_that_never_ends_is_cut_off_at_the_metadata_limit(evil, app_wheel, tmp_path):
    url = serve_wheel(evil, app_wheel)
    evil.route(f"/files/{app_wheel.name}.metadata", endless(b"X" * 65536))
    evil.route("/simple/app/", json_page([
        entry(app_wheel, url, hashes={"sha256": sha256_file(app_wheel)}, **{"core-metadata": True})
    ]))

    result = run_bounded("app", "--index-url", evil.url, tmp_path=tmp_path)

    assert result.returncode == 1
    assert one_error_line(result.stderr) == (
        f"error: {url}.metadata: the {app_wheel.name}.metadata is larger than the 64 MiB "
        'ftlock accepts (see docs/reliability.md, "Limits")'
    )


def _bomb_wheel(dists_dir: Path, inflated: int, claimed: int | None = None, cd_claim: int | None = None) -> Path:
    """app 1.0 whose METADATA inflates to ``inflated`` bytes; ``claimed`` rewrites the
    uncompressed size the zip headers state, ``cd_claim`` the central directory's size."""
    path = dists_dir / "app-1.0-py3-none-any.whl"
    head = render_metadata("app", "1.0").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("app/__init__.py", b"")
        zf.writestr("app-1.0.dist-info/METADATA", head + b"X" * (inflated - len(head)))
        zf.writestr("app-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\nTag: py3-none-any\n")
    data = bytearray(path.read_bytes())
    if claimed is not None:
        for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
            at = data.find(signature + b"", 0)
            while at >= 0:
                name_len = struct.unpack_from("<H", data, at + (26 if signature == b"PK\x03\x04" else 28))[0]
                start = at + (30 if signature == b"PK\x03\x04" else 46)
                if data[start:start + name_len].endswith(b"METADATA"):
                    struct.pack_into("<L", data, at + offset, claimed)
                at = data.find(signature, at + 4)
    if cd_claim is not None:
        eocd = data.rfind(b"PK\x05\x06")
        struct.pack_into("<L", data, eocd + 12, cd_claim)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    "shape",
    [
        {"inflated": 80 * MiB, "claimed": 1000},  # the headers lie: small
        {"inflated": 4096, "claimed": 3_500_000_000},  # the headers claim 3.5 GB
        {"inflated": 4096, "cd_claim": 0x7FFF_FFFF},  # the directory claims 2 GiB
    ],
    ids=["inflates-past-its-header", "header-claims-3.5GB", "directory-claims-2GiB"],
)
@pytest.mark.parametrize("route", ["range-requests", "full-download"])
def test_a_wheel_whose_metadata_or_directory_is_too_large_fails_naming_the_file(
    evil, dists_dir, tmp_path, shape, route
):
    wheel = _bomb_wheel(dists_dir, **shape)
    url = serve_wheel(evil, wheel)
    if route == "range-requests":
        evil.route(f"/files/{wheel.name}", ranged(wheel.read_bytes()))
    # else the route ignores Range: the wheel is downloaded whole
    evil.route("/simple/app/", json_page([entry(wheel, url, hashes={"sha256": sha256_file(wheel)})]))

    result = run_bounded("app", "--index-url", evil.url, tmp_path=tmp_path)

    assert result.returncode == 1, result.stderr
    line = one_error_line(result.stderr)
    assert wheel.name in line
    assert "MiB" in line


# --------------------------------------------------------------------------------------
# 4. no file: links from a remote page
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["json", "html"])
def test_an_http_page_cannot_point_ftlock_at_local_files(evil, dists_dir, tmp_path, ftlock, page):
    secret = build_wheel(dists_dir / "secret", "app", "2.0")
    links = [("app-1.0-py3-none-any.whl", "file:///dev/zero"), (secret.name, secret.as_uri())]
    if page == "json":
        evil.route("/simple/app/", json_page([
            {"filename": name, "url": link, "hashes": {"sha256": "0" * 64}} for name, link in links
        ]))
    else:
        evil.route("/simple/app/", html_page([f'<a href="{link}">{name}</a>' for name, link in links]))

    result = ftlock("solve", "app", "--index-url", evil.url)

    assert result.exit_code == 1
    assert one_error_line(result.stderr).startswith("error: ")
    assert result.lock is None
    assert [path for path, _ in evil.requests] == ["/simple/app/"]


@pytest.mark.parametrize("char", ["\x0c", "\u2028", "\x1b"])
def test_a_link_with_a_character_that_is_not_printable_is_never_followed(evil, app_wheel, ftlock, char):
    """A real URL percent-encodes such characters; one sent raw would break the error
    message (or a lock line) that quotes it into two lines."""
    url = serve_wheel(evil, app_wheel, metadata=render_metadata("app", "1.0").encode())
    bad = entry(app_wheel, url.replace("/files/", f"/files/{char}"), **{"core-metadata": True})
    evil.route("/simple/app/", raw_json_page(json.dumps({"files": [bad]}).encode()))

    result = ftlock("solve", "app", "--index-url", evil.url, "--no-cache")

    assert result.exit_code == 1
    assert "no version of app" in one_error_line(result.stderr)
    assert [path for path, _ in evil.requests] == ["/simple/app/"]


def test_a_file_index_may_link_local_files(dists_dir, tmp_path, ftlock):
    wheel = build_wheel(dists_dir, "app", "1.0")
    page = tmp_path / "simple" / "app"
    page.mkdir(parents=True)
    (page / "index.html").write_text(f'<a href="{wheel.as_uri()}">{wheel.name}</a>')

    result = ftlock("solve", "app", "--index-url", (tmp_path / "simple").as_uri())

    assert result.exit_code == 0, result.stderr
    assert lock_hashes(result.lock) == [sha256_file(wheel)]


# --------------------------------------------------------------------------------------
# 5. credentials go to their own scheme, host and port only
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "asked", "sent"),
    [
        ("https://pkgs.corp/simple", "https://pkgs.corp/files/a.whl", True),
        ("https://pkgs.corp/simple", "https://pkgs.corp:443/files/a.whl", True),
        ("https://pkgs.corp/simple", "https://pkgs.corp:8081/files/a.whl", False),
        ("https://pkgs.corp/simple", "http://pkgs.corp/files/a.whl", False),
        ("https://pkgs.corp:8443/simple", "https://pkgs.corp/files/a.whl", False),
        ("https://pkgs.corp/simple", "https://files.corp/a.whl", False),
        ("https://PKGS.corp/simple", "https://pkgs.CORP/a.whl", True),
    ],
)
def test_credentials_are_sent_to_the_exact_origin_they_were_given_for(given, asked, sent):
    http = Http(credentials=((origin(given), "alice", "token"),), use_netrc=False)
    try:
        assert (http._auth_for(asked) == ("alice", "token")) is sent
    finally:
        http.close()


def test_a_file_link_to_another_port_gets_no_credentials(upstream_with_auth, proxies, ftlock, monkeypatch):
    index, proxy = upstream_with_auth
    proxy.inject(
        "/simple/app/",
        replace_body(lambda page: page.replace(b'"../../files/', b'"http://pkgs.invalid:8081/files/')),
        times=None,
    )
    monkeypatch.setenv("HTTP_PROXY", proxy.base_url)

    ftlock(
        "solve", "app", "--index-url", "http://alice:s3cret@pkgs.invalid/simple",
        "--allow-insecure-host", "pkgs.invalid",
    )

    on_other_port = [r for r in proxy.log if r.host == "pkgs.invalid:8081"]
    assert on_other_port, "the file link was not followed"
    assert all(r.authorization is None for r in on_other_port)
    assert all(r.authorization is not None for r in proxy.log if r.host == "pkgs.invalid")


@pytest.fixture
def upstream_with_auth(local_index, dists_dir, proxies):  # type: ignore[no-untyped-def]
    index = local_index(pep658=True, json=True)
    index.add(build_wheel(dists_dir, "app", "1.0"))
    return index, proxies(index, auth=("alice", "s3cret"))


# --------------------------------------------------------------------------------------
# 6. metadata that lies about itself
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inside", "says"), [(("liar", "9.9"), "liar 9.9"), (("other", "1.0"), "other 1.0")],
    ids=["version", "name"],
)
@pytest.mark.parametrize("pep658", [True, False], ids=["pep658", "wheel"])
def test_metadata_whose_name_or_version_is_not_the_files_is_refused(
    local_index, dists_dir, ftlock, inside, says, pep658
):
    built = build_wheel(dists_dir / "built", *inside)
    liar = dists_dir / "liar-1.0-py3-none-any.whl"
    liar.write_bytes(built.read_bytes())
    index = local_index(pep658=pep658)
    index.add(liar)

    result = ftlock("solve", "liar", index=index)

    assert result.exit_code == 1
    assert one_error_line(result.stderr) == (
        f"error: liar-1.0-py3-none-any.whl: its metadata says {says}, not the name and "
        "version in its filename; refusing to use it"
    )
    assert result.lock is None


# --------------------------------------------------------------------------------------
# 7. unhashed files are hashed
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["json", "html"])
def test_a_file_the_index_gives_no_hash_for_is_downloaded_and_its_hash_locked(
    evil, app_wheel, ftlock, page
):
    url = serve_wheel(evil, app_wheel)
    if page == "json":
        evil.route("/simple/app/", json_page([entry(app_wheel, url)]))
    else:
        evil.route("/simple/app/", html_page([f'<a href="{url}">{app_wheel.name}</a>']))

    result = ftlock("solve", "app", "--index-url", evil.url)

    assert result.exit_code == 0, result.stderr
    assert lock_hashes(result.lock) == [sha256_file(app_wheel)]
    assert "warning" not in result.stderr  # an index without hashes is ordinary


def test_verbose_output_says_which_files_ftlock_hashed(evil, app_wheel, tmp_path):
    url = serve_wheel(evil, app_wheel)
    evil.route("/simple/app/", json_page([entry(app_wheel, url)]))

    result = subprocess.run(
        [sys.executable, "-m", "ftlock", "solve", "app", "--index-url", evil.url, "-v",
         "--python", "3.11", "--platform", "linux_x86_64", "--cache-dir", str(tmp_path / "c"),
         "-o", str(tmp_path / "out.txt")],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "FTLOCK_RETRY_BACKOFF": "0"},
    )

    assert result.returncode == 0, result.stderr
    assert (
        f"{app_wheel.name}: no sha256 on the index; downloaded {app_wheel.stat().st_size} bytes "
        f"from {url} and locked sha256 {sha256_file(app_wheel)}"
    ) in result.stderr


# --------------------------------------------------------------------------------------
# values of the wrong type and size, field by field
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("upload-time", 1e20),
        ("upload-time", "9999-12-31T23:59:59-05:00"),
        ("upload-time", "0001-01-01T00:00:00+05:00"),
        ("upload-time", float("nan")),
        ("requires-python", [">=3"]),
        ("requires-python", 3),
        ("size", -5),
        ("size", True),
        ("yanked", {"reason": 1}),
    ],
)
@pytest.mark.parametrize("fmt", ["requirements", "pylock"])
def test_a_malformed_optional_field_is_ignored_and_the_version_kept(
    evil, app_wheel, ftlock, tmp_path, field, value, fmt
):
    url = serve_wheel(evil, app_wheel)
    files = [entry(app_wheel, url, hashes={"sha256": sha256_file(app_wheel)}, **{field: value})]
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "app", "files": files}).encode()
    evil.route("/simple/app/", raw_json_page(body))
    out = tmp_path / ("pylock.toml" if fmt == "pylock" else "out.txt")

    result = ftlock("solve", "app", "--index-url", evil.url, "--format", fmt, "-o", str(out))

    assert result.exit_code == 0, result.stderr
    assert sha256_file(app_wheel) in result.lock


def test_a_version_of_thousands_of_digits_in_requires_dist_is_one_error_line(
    local_index, dists_dir, ftlock
):
    index = local_index(pep658=True)
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["lib==" + "1" * 5000]))
    index.add(build_wheel(dists_dir, "lib", "1.0"))

    result = ftlock("solve", "app", index=index)

    # an unparseable Requires-Dist entry is skipped, as pip does; never a traceback
    assert result.exit_code == 0, result.stderr
    assert [line for line in result.lock.splitlines() if "==" in line] == ["app==1.0 \\"]


# --------------------------------------------------------------------------------------
# bad input: one error line, exit 2, quickly, nothing written
# --------------------------------------------------------------------------------------


def _chain(tmp_path: Path) -> list[str]:
    for i in range(2000):
        (tmp_path / f"c{i}.txt").write_text(f"-r c{i + 1}.txt\n")
    (tmp_path / "c2000.txt").write_text("app\n")
    return ["-r", str(tmp_path / "c0.txt")]


def _laughs(tmp_path: Path) -> list[str]:
    for i in range(40):
        (tmp_path / f"b{i}.txt").write_text(f"-r b{i + 1}.txt\n-c b{i + 1}.txt\n")
    (tmp_path / "b40.txt").write_text("app\n")
    return ["-r", str(tmp_path / "b0.txt")]


def _overwrite(tmp_path: Path) -> list[str]:
    (tmp_path / "reqs.txt").write_text("app\n")
    return ["-r", str(tmp_path / "reqs.txt"), "-o", str(tmp_path / "reqs.txt")]


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda t: ["app==" + "1" * 5000], "has a number longer than 64 digits"),
        (lambda t: ["app", "--exclude-newer", "9999-12-31T23:00:00-05:00"], "is outside the years 1-9999 in UTC"),
        (lambda t: ["app", "--exclude-newer", "0001-01-01T00:00+05:00"], "is outside the years 1-9999 in UTC"),
        (lambda t: ["app", "--timeout", "nan"], "is not a finite number of seconds"),
        (lambda t: ["app", "--timeout", "inf"], "is not a finite number of seconds"),
        (lambda t: ["app", "--timeout", "-1"], "is less than 0.1"),
        (lambda t: ["app", "--page-ttl", "nan"], "is not a finite number of seconds"),
        (lambda t: ["-r", "/dev/zero"], "/dev/zero: larger than 16 MiB; not a requirements file"),
        (lambda t: ["app", "--base", "/dev/zero"], "/dev/zero: larger than 16 MiB; not a requirements file"),
        (_chain, "-r/-c includes nested more than 64 deep"),
        (_laughs, "more than 1,000 requirement files read in all"),
        (_overwrite, "is also an input file; write the lock somewhere else"),
    ],
    ids=[
        "5000-digit-version", "exclude-newer-after-9999", "exclude-newer-before-1", "timeout-nan",
        "timeout-inf", "timeout-negative", "page-ttl-nan", "r-dev-zero", "base-dev-zero",
        "r-chain-2000-deep", "r-billion-laughs", "o-names-an-input",
    ],
)
def test_bad_input_is_one_error_line_with_exit_code_2(evil, tmp_path, make_args, message):
    args = make_args(tmp_path)
    if "-o" not in args:
        args += ["-o", str(tmp_path / "out.txt")]
    started = time.monotonic()

    result = run_bounded(*args, "--index-url", evil.url, tmp_path=tmp_path, output=False)

    assert result.returncode == 2, result.stderr
    assert message in one_error_line(result.stderr)
    assert time.monotonic() - started < 20
    assert evil.requests == []
    assert not (tmp_path / "out.txt").exists()
    if (tmp_path / "reqs.txt").exists():
        assert (tmp_path / "reqs.txt").read_text() == "app\n"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FILE_FIELDS = [
    "filename", "url", "hashes", "requires-python", "yanked", "upload-time", "size",
    "core-metadata", "dist-info-metadata",
]


@settings(
    max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    where=st.sampled_from(["file", "hashes.sha256", "files", "page", "name", "core-metadata.sha256"]),
    field=st.sampled_from(FILE_FIELDS),
    value=json_values,
)
def test_any_json_value_in_any_pep691_field_gives_a_lock_or_one_error_line(
    evil, app_wheel, ftlock, tmp_path, where, field, value
):
    url = serve_wheel(evil, app_wheel, metadata=render_metadata("app", "1.0").encode())
    good = entry(app_wheel, url, hashes={"sha256": sha256_file(app_wheel)}, **{"core-metadata": True})
    page: object = {"meta": {"api-version": "1.1"}, "name": "app", "files": [good]}
    if where == "file":
        good[field] = value
    elif where == "hashes.sha256":
        good["hashes"] = {"sha256": value}
    elif where == "core-metadata.sha256":
        good["core-metadata"] = {"sha256": value}
    elif where == "files":
        page["files"] = value  # type: ignore[index]
    elif where == "name":
        page["name"] = value  # type: ignore[index]
    else:
        page = value
    evil.route("/simple/app/", raw_json_page(json.dumps(page).encode()))

    result = ftlock("solve", "app", "--index-url", evil.url, "--no-cache", "--format",
                    "pylock" if field == "upload-time" else "requirements",
                    "-o", str(tmp_path / "pylock.toml"))

    assert "Traceback" not in result.stderr
    if result.exit_code == 0:
        assert result.lock is not None and sha256_file(app_wheel) in result.lock
    else:
        assert result.exit_code == 1, result.stderr
        one_error_line(result.stderr)
