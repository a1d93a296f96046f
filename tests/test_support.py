"""Self-tests for the test infrastructure in ``tests/support``.

If these fail, failures elsewhere are about the fixtures, not ftlock.
"""

from __future__ import annotations

import base64
import csv
import email.parser
import hashlib
import io
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import httpx
import pytest

from tests.conftest import IndexFactory
from tests.support.dists import (
    SAFE_EXTRACT,
    BACKEND_LOG_ENV,
    build_sdist,
    build_wheel,
    read_wheel_metadata,
    sha256_file,
)
from tests.support.index_server import JSON_CONTENT_TYPE, LocalIndex

JSON_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.1, text/html;q=0.01"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    # trust_env=False: never route 127.0.0.1 through a proxy from the env.
    with httpx.Client(trust_env=False, timeout=10) as c:
        yield c


def _parse_metadata(data: bytes) -> email.message.Message:
    return email.parser.BytesParser().parsebytes(data)


def _extract(tf: tarfile.TarFile, dest: Path) -> None:
    """extractall with the safe "data" filter where this Python has it."""
    if hasattr(tarfile, "data_filter"):
        tf.extractall(dest, **SAFE_EXTRACT)
    else:  # pragma: no cover - Python < 3.10.12
        tf.extractall(dest)


# ------------------------------------------------------------------ dists


def test_wheel_is_valid_and_metadata_parses(dists_dir: Path) -> None:
    path = build_wheel(
        dists_dir,
        "Demo.Pkg",
        "1.0",
        requires_dist=["dep>=1", 'extra-dep; extra == "fast"'],
        requires_python=">=3.8",
        provides_extra=["fast"],
        tag="py2.py3-none-any",
    )
    assert path.name == "demo_pkg-1.0-py2.py3-none-any.whl"
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        assert names[0] == "demo_pkg/__init__.py"
        assert names[-1] == "demo_pkg-1.0.dist-info/RECORD"
        wheel = _parse_metadata(zf.read("demo_pkg-1.0.dist-info/WHEEL"))
    meta = _parse_metadata(read_wheel_metadata(path))
    assert meta["Metadata-Version"] == "2.1"
    assert meta["Name"] == "Demo.Pkg"
    assert meta["Version"] == "1.0"
    assert meta["Requires-Python"] == ">=3.8"
    assert meta.get_all("Provides-Extra") == ["fast"]
    assert meta.get_all("Requires-Dist") == ["dep>=1", 'extra-dep; extra == "fast"']
    assert wheel["Wheel-Version"] == "1.0"
    assert wheel["Root-Is-Purelib"] == "true"
    assert sorted(wheel.get_all("Tag")) == ["py2-none-any", "py3-none-any"]


def test_wheel_record_hashes_are_correct(dists_dir: Path) -> None:
    path = build_wheel(dists_dir, "demo", "1.0", padding_files=2)
    with zipfile.ZipFile(path) as zf:
        rows = list(csv.reader(io.StringIO(zf.read("demo-1.0.dist-info/RECORD").decode())))
        listed = {row[0] for row in rows}
        assert listed == set(zf.namelist())
        for arcname, hash_, size in rows:
            if arcname.endswith("/RECORD"):
                assert hash_ == size == ""
                continue
            data = zf.read(arcname)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert hash_ == f"sha256={digest}"
            assert int(size) == len(data)


def test_wheels_and_sdists_are_deterministic(tmp_path: Path) -> None:
    first = [
        build_wheel(tmp_path / "a", "demo", "1.0", padding_files=1),
        build_sdist(tmp_path / "a", "demo", "1.0", pep517_backend=True),
    ]
    time.sleep(1.1)  # would change any leaked wall-clock timestamp
    second = [
        build_wheel(tmp_path / "b", "demo", "1.0", padding_files=1),
        build_sdist(tmp_path / "b", "demo", "1.0", pep517_backend=True),
    ]
    assert [sha256_file(p) for p in first] == [sha256_file(p) for p in second]


def test_padded_wheel_puts_metadata_in_the_tail(dists_dir: Path) -> None:
    path = build_wheel(dists_dir, "big", "2.0", padding_files=10)
    size = path.stat().st_size
    assert size > 64 * 1024
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("big-2.0.dist-info/METADATA")
    assert info.header_offset > size - 64 * 1024 + 1024


def test_sdist_layout_and_dynamic(dists_dir: Path) -> None:
    path = build_sdist(
        dists_dir, "Demo-Pkg", "1.0", requires_dist=["dep"], dynamic=["Summary"]
    )
    assert path.name == "demo_pkg-1.0.tar.gz"
    with tarfile.open(path) as tf:
        names = tf.getnames()
        assert {"demo_pkg-1.0/PKG-INFO", "demo_pkg-1.0/pyproject.toml", "demo_pkg-1.0/demo_pkg/__init__.py"} <= set(names)
        fh = tf.extractfile("demo_pkg-1.0/PKG-INFO")
        assert fh is not None
        pkg_info = _parse_metadata(fh.read())
    assert pkg_info["Metadata-Version"] == "2.2"
    assert pkg_info.get_all("Dynamic") == ["Summary"]
    assert pkg_info.get_all("Requires-Dist") == ["dep"]


def test_pep517_sdist_metadata_via_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import build.util

    sdist = build_sdist(
        tmp_path, "hooked", "0.3", requires_dist=["alpha>=1", "beta; python_version<'4'"], pep517_backend=True
    )
    with tarfile.open(sdist) as tf:
        fh = tf.extractfile("hooked-0.3/PKG-INFO")
        assert fh is not None
        assert "Requires-Dist" in (_parse_metadata(fh.read()).get_all("Dynamic") or [])
        _extract(tf, tmp_path / "src")
    log = tmp_path / "hooks.log"
    monkeypatch.setenv(BACKEND_LOG_ENV, str(log))

    started = time.monotonic()
    meta = build.util.project_wheel_metadata(tmp_path / "src" / "hooked-0.3", isolated=True)
    assert time.monotonic() - started < 20
    assert meta["Name"] == "hooked"
    assert meta.get_all("Requires-Dist") == ["alpha>=1", "beta; python_version<'4'"]
    assert "prepare_metadata_for_build_wheel hooked 0.3" in log.read_text().splitlines()


def test_pep517_backend_builds_a_wheel(tmp_path: Path) -> None:
    from pyproject_hooks import BuildBackendHookCaller

    sdist = build_sdist(tmp_path, "hooked", "0.3", requires_dist=["alpha"], pep517_backend=True)
    with tarfile.open(sdist) as tf:
        _extract(tf, tmp_path / "src")
    src = tmp_path / "src" / "hooked-0.3"
    hooks = BuildBackendHookCaller(str(src), "ftlock_test_backend", backend_path=["."])
    out = tmp_path / "out"
    out.mkdir()
    assert hooks.get_requires_for_build_wheel() == []
    wheel = out / hooks.build_wheel(str(out))
    assert _parse_metadata(read_wheel_metadata(wheel)).get_all("Requires-Dist") == ["alpha"]


# ------------------------------------------------------------------ index


@pytest.fixture
def populated(local_index: IndexFactory, dists_dir: Path) -> LocalIndex:
    index = local_index(pep658=True)
    index.add(build_wheel(dists_dir, "Demo", "1.0"), requires_python=">=3.8")
    index.add(build_wheel(dists_dir, "Demo", "2.0", padding_files=10), yanked="broken")
    index.add(build_sdist(dists_dir, "Demo", "2.0"), upload_time=None)
    return index


def test_json_and_html_negotiation(populated: LocalIndex, client: httpx.Client) -> None:
    page = client.get(f"{populated.url}/demo/", headers={"Accept": JSON_ACCEPT})
    assert page.status_code == 200
    assert page.headers["content-type"] == JSON_CONTENT_TYPE
    data = page.json()
    assert data["meta"] == {"api-version": "1.1"}
    assert data["name"] == "demo"
    assert data["versions"] == ["1.0", "2.0"]
    by_name = {f["filename"]: f for f in data["files"]}
    wheel1 = by_name["demo-1.0-py3-none-any.whl"]
    assert wheel1["requires-python"] == ">=3.8"
    assert wheel1["yanked"] is False
    assert wheel1["upload-time"] == "2024-01-01T00:00:00Z"
    assert by_name["demo-2.0-py3-none-any.whl"]["yanked"] == "broken"
    sdist = by_name["demo-2.0.tar.gz"]
    assert "upload-time" not in sdist
    assert sdist["core-metadata"] is False  # index default applies to wheels only
    # Relative URL resolves against the page URL to the real file.
    file_url = urljoin(str(page.url), wheel1["url"])
    assert file_url == populated.file_url("demo-1.0-py3-none-any.whl")
    body = client.get(file_url).content
    assert hashlib.sha256(body).hexdigest() == wheel1["hashes"]["sha256"]
    assert len(body) == wheel1["size"]

    html_page = client.get(f"{populated.url}/demo/")
    assert html_page.headers["content-type"].startswith("text/html")
    text = html_page.text
    assert 'data-requires-python="&gt;=3.8"' in text
    assert 'data-yanked="broken"' in text
    assert f"#sha256={wheel1['hashes']['sha256']}" in text
    assert f'data-core-metadata="sha256={wheel1["core-metadata"]["sha256"]}"' in text

    root = client.get(f"{populated.url}/", headers={"Accept": JSON_ACCEPT}).json()
    assert root["projects"] == [{"name": "demo"}]


def test_html_only_index_ignores_json_accept(local_index: IndexFactory, dists_dir: Path, client: httpx.Client) -> None:
    index = local_index(json=False)
    index.add(build_wheel(dists_dir, "demo", "1.0"))
    page = client.get(f"{index.url}/demo/", headers={"Accept": JSON_ACCEPT})
    assert page.headers["content-type"].startswith("text/html")


def test_redirects_and_404(populated: LocalIndex, client: httpx.Client) -> None:
    redirect = client.get(f"{populated.url}/DEMO/")
    assert redirect.status_code == 301
    assert redirect.headers["location"] == f"{populated.url}/demo/"
    assert client.get(f"{populated.url}/demo").status_code == 301
    assert client.get(f"{populated.url}/nope/").status_code == 404


def test_range_requests(populated: LocalIndex, client: httpx.Client) -> None:
    fn = "demo-2.0-py3-none-any.whl"
    full = client.get(populated.file_url(fn))
    assert full.status_code == 200
    assert full.headers["accept-ranges"] == "bytes"
    data = full.content
    size = len(data)
    assert int(full.headers["content-length"]) == size > 64 * 1024

    cases = {"bytes=10-19": (10, 19), f"bytes={size - 100}-": (size - 100, size - 1), "bytes=-4096": (size - 4096, size - 1)}
    for header, (start, end) in cases.items():
        resp = client.get(populated.file_url(fn), headers={"Range": header})
        assert resp.status_code == 206, header
        assert resp.headers["content-range"] == f"bytes {start}-{end}/{size}"
        assert resp.content == data[start : end + 1]

    assert client.get(populated.file_url(fn), headers={"Range": f"bytes={size}-"}).status_code == 416
    head = client.head(populated.file_url(fn))
    assert head.status_code == 200 and int(head.headers["content-length"]) == size

    populated.ranges = False
    resp = client.get(populated.file_url(fn), headers={"Range": "bytes=0-9"})
    assert resp.status_code == 200
    assert resp.content == data
    assert "accept-ranges" not in resp.headers


def test_pep658_metadata_file(populated: LocalIndex, client: httpx.Client, dists_dir: Path) -> None:
    page = client.get(f"{populated.url}/demo/", headers={"Accept": JSON_ACCEPT}).json()
    entry = next(f for f in page["files"] if f["filename"] == "demo-1.0-py3-none-any.whl")
    advertised = entry["core-metadata"]["sha256"]
    assert entry["dist-info-metadata"] == entry["core-metadata"]
    resp = client.get(urljoin(f"{populated.url}/demo/", entry["url"]) + ".metadata")
    assert resp.status_code == 200
    assert resp.content == read_wheel_metadata(dists_dir / "demo-1.0-py3-none-any.whl")
    assert hashlib.sha256(resp.content).hexdigest() == advertised
    # No .metadata where none is advertised.
    assert client.get(populated.file_url("demo-2.0.tar.gz") + ".metadata").status_code == 404


def test_request_log_and_etag(populated: LocalIndex, client: httpx.Client) -> None:
    populated.clear_log()
    first = client.get(f"{populated.url}/demo/", headers={"Accept": JSON_ACCEPT})
    again = client.get(
        f"{populated.url}/demo/", headers={"Accept": JSON_ACCEPT, "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    client.get(populated.file_url("demo-1.0-py3-none-any.whl"), headers={"Range": "bytes=-10"})
    assert populated.requests[-1] == ("GET", "/files/demo-1.0-py3-none-any.whl", "bytes=-10")
    assert populated.count("/simple/demo/") == 2
    assert populated.count(prefix="/files/") == 1
    assert populated.counts() == {"/simple/demo/": 2, "/files/demo-1.0-py3-none-any.whl": 1}
    with populated.assert_no_requests():
        pass
    with pytest.raises(AssertionError), populated.assert_no_requests():
        client.get(f"{populated.url}/")


def test_forced_errors(populated: LocalIndex, client: httpx.Client) -> None:
    populated.errors["/simple/demo/"] = 503
    assert client.get(f"{populated.url}/demo/").status_code == 503
    del populated.errors["/simple/demo/"]
    assert client.get(f"{populated.url}/demo/").status_code == 200


def test_write_static(populated: LocalIndex, tmp_path: Path) -> None:
    url = populated.write_static(tmp_path / "static")
    assert url.startswith("file://") and url.endswith("/simple")
    simple = Path(url2pathname(urlsplit(url).path))
    assert simple == (tmp_path / "static" / "simple").resolve()
    page_url = url + "/demo/index.html"
    text = Path(url2pathname(urlsplit(page_url).path)).read_text()
    assert "demo-1.0-py3-none-any.whl" in text
    href = text.split('href="')[1].split('"')[0].replace("&amp;", "&")
    file_path = Path(url2pathname(urlsplit(urljoin(page_url, href)).path))
    assert file_path.is_file()
    assert sha256_file(file_path) == href.split("#sha256=")[1]
    assert (file_path.parent / (file_path.name + ".metadata")).is_file()
    assert "demo/" in (simple / "index.html").read_text()
