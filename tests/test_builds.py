"""Sdists whose metadata needs a PEP 517 build (issue 14, items 1–3).

The build requirement in these tests is ``fakebackend``, a tiny backend published as a wheel
on the local index only: a build that found it anywhere else (pip's configuration, the
machine's site-packages) would fail, and the version it ran with is in its log.  Its
``prepare_metadata_for_build_wheel`` writes the sdist's ``METADATA.in`` verbatim, runs a
``setup.py`` if there is one (as setuptools' legacy backend does), and imports whatever
``fake-requires.txt`` made ``get_requires_for_build_wheel`` ask for.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from ftlock.distribution.metadata import parse_metadata
from tests.support.dists import _write_wheel_archive, build_wheel, render_metadata
from tests.support.locks import pinned as pins
from tests.support.cli import error_line

LOG_ENV = "FAKEBACKEND_LOG"

_BACKEND = '''\
"""fakebackend {version}: a PEP 517 backend for ftlock's tests."""
import os
import shutil

VERSION = {version!r}


def _log(hook):
    path = os.environ.get({log_env!r})
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("fakebackend " + VERSION + " " + hook + " " + os.path.basename(os.getcwd()) + "\\n")


def _setup():
    if os.path.exists("setup.py"):
        path = os.path.abspath("setup.py")
        with open(path, encoding="utf-8") as fh:
            exec(compile(fh.read(), path, "exec"), {{"__name__": "__main__", "__file__": path}})


def _extra():
    if not os.path.exists("fake-requires.txt"):
        return []
    with open("fake-requires.txt", encoding="utf-8") as fh:
        return fh.read().split()


def get_requires_for_build_wheel(config_settings=None):
    _log("get_requires_for_build_wheel")
    _setup()
    return _extra()


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _log("prepare_metadata_for_build_wheel")
    _setup()
    for module in _extra():
        __import__(module)
    os.makedirs(os.path.join(metadata_directory, "built.dist-info"))
    shutil.copyfile("METADATA.in", os.path.join(metadata_directory, "built.dist-info", "METADATA"))
    return "built.dist-info"
'''


def fakebackend_wheel(dest: Path, version: str) -> Path:
    """``fakebackend-<version>-py3-none-any.whl``: the backend above as an importable package."""
    dist_info = f"fakebackend-{version}.dist-info"
    members = [
        ("fakebackend/__init__.py", _BACKEND.format(version=version, log_env=LOG_ENV).encode()),
        (f"{dist_info}/METADATA", render_metadata("fakebackend", version).encode()),
        (f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: ftlock-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    path = dest / f"fakebackend-{version}-py3-none-any.whl"
    _write_wheel_archive(path, dist_info, members)
    return path


def fake_sdist(dest: Path, name: str, version: str, metadata: bytes, **files: str) -> Path:
    """An sdist built by ``fakebackend``: an untrusted (2.1) PKG-INFO, so ftlock must run the
    hooks; ``metadata`` is what the backend will write; ``files`` are extra source files
    (``setup_py=...`` becomes ``setup.py``, ``fake_requires_txt`` ``fake-requires.txt``)."""
    base = f"{name}-{version}"
    members = {
        "PKG-INFO": render_metadata(name, version).encode(),
        "pyproject.toml": b'[build-system]\nrequires = ["fakebackend"]\nbuild-backend = "fakebackend"\n',
        "METADATA.in": metadata,
    }
    for key, text in files.items():
        stem, _, ext = key.rpartition("_")
        members[f"{stem.replace('_', '-')}.{ext}"] = text.encode()
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w") as tf:
            for rel, data in sorted(members.items()):
                info = tarfile.TarInfo(f"{base}/{rel}")
                info.size, info.mode, info.mtime = len(data), 0o644, 1704067200
                tf.addfile(info, io.BytesIO(data))
    path = dest / f"{base}.tar.gz"
    path.write_bytes(raw.getvalue())
    return path


@pytest.fixture(autouse=True)
def pip_cannot_help(monkeypatch: pytest.MonkeyPatch) -> None:
    """pip's configuration points nowhere: build requirements can only come from ftlock's
    own index (through its own client)."""
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")


@pytest.fixture
def backend_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "fakebackend.log"
    monkeypatch.setenv(LOG_ENV, str(log))
    return log


@pytest.fixture
def index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    """fakebackend 1.0 (uploaded 2024-01-01) and 2.0 (2024-06-01), fakehelper, lib; with
    PEP 658 metadata, so a request for a wheel itself is an install's download."""
    idx = local_index(pep658=True)
    idx.add(fakebackend_wheel(dists_dir, "1.0"), upload_time="2024-01-01T00:00:00Z")
    idx.add(fakebackend_wheel(dists_dir, "2.0"), upload_time="2024-06-01T00:00:00Z")
    idx.add(build_wheel(dists_dir, "fakehelper", "1.0"))
    idx.add(build_wheel(dists_dir, "lib", "1.0"))
    return idx


# -- item 1: metadata exactly as the backend wrote it, parsed leniently ----------------------

LEGACY_METADATA = (
    b"Metadata-Version: 2.1\n"
    b"Name: legacy\n"
    b"Version: 1.0\n"
    b"Summary: a setup.py description with a newline\n"
    b"that old setuptools wrote into the header unindented\n"
    b"Author: Jos\xe9 (latin-1, not UTF-8)\n"
    b"Description: # Usage\n"
    b"        note: this line looks like an embedded header\n"
    b"Requires-Dist: lib>=1\n"
    b"Requires-Dist: fakehelper; extra == 'x'\n"
    b"Provides-Extra: x\n"
    b"\n"
    b"Requires-Dist: body-text-is-not-a-header\n"
)


def test_a_legacy_sdist_whose_metadata_has_multi_line_headers_locks(index, dists_dir, ftlock):
    index.add(fake_sdist(dists_dir, "legacy", "1.0", LEGACY_METADATA))

    result = ftlock("solve", "legacy", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["legacy==1.0", "lib==1.0"]


@pytest.mark.parametrize(
    ("raw", "first_requirement"),
    [
        (LEGACY_METADATA, "lib>=1"),
        (LEGACY_METADATA.replace(b"\n", b"\r\n"), "lib>=1"),
        (b"\xef\xbb\xbf" + LEGACY_METADATA.replace(b"Jos\xe9", "José".encode()), "lib>=1"),
        (LEGACY_METADATA.replace(b"Requires-Dist: lib>=1\n", b"Requires-Dist: lib\n  >=1\n"), "lib >=1"),
    ],
    ids=["latin-1 and unindented continuation", "CRLF", "UTF-8 with BOM", "folded Requires-Dist"],
)
def test_metadata_parsing_is_at_least_as_lenient_as_pip(raw: bytes, first_requirement: str) -> None:
    metadata = parse_metadata(raw, "legacy")

    assert (metadata.name, metadata.version) == ("legacy", "1.0")
    assert metadata.requires_dist == (first_requirement, "fakehelper; extra == 'x'")
    assert metadata.provides_extra == ("x",)


# -- item 2: build requirements from the solve's index, under its cut-off ----------------------


def test_build_requirements_come_from_the_solve_index_before_the_exclude_newer_date(
    index, dists_dir, ftlock, backend_log
):
    metadata = render_metadata("app", "1.0", requires_dist=["lib"]).encode()
    index.add(fake_sdist(dists_dir, "app", "1.0", metadata, fake_requires_txt="fakehelper\n"))

    result = ftlock("solve", "app", "--exclude-newer", "2024-03-01", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0", "lib==1.0"]
    assert backend_log.read_text().splitlines() == [
        "fakebackend 1.0 get_requires_for_build_wheel app-1.0",
        "fakebackend 1.0 prepare_metadata_for_build_wheel app-1.0",
    ]
    assert index.count("/files/fakebackend-2.0-py3-none-any.whl") == 0
    assert index.count("/files/fakehelper-1.0-py3-none-any.whl") == 1


def test_without_a_cut_off_the_newest_build_requirement_is_used(index, dists_dir, ftlock, backend_log):
    index.add(fake_sdist(dists_dir, "app", "1.0", render_metadata("app", "1.0").encode()))

    result = ftlock("solve", "app", index=index)

    assert result.exit_code == 0, result.stderr
    assert backend_log.read_text().splitlines()[-1] == "fakebackend 2.0 prepare_metadata_for_build_wheel app-1.0"


def test_a_relative_cache_dir_builds_sdists_too(index, dists_dir, ftlock, tmp_path, monkeypatch):
    # the build environment's interpreter lives in the cache and runs from another directory
    index.add(fake_sdist(dists_dir, "app", "1.0", render_metadata("app", "1.0").encode()))
    monkeypatch.chdir(tmp_path)

    result = ftlock("solve", "app", "--cache-dir", "relative-cache", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["app==1.0"]
    assert (tmp_path / "relative-cache").is_dir()


def test_sdists_with_the_same_build_requirements_share_one_cached_environment(
    index, dists_dir, ftlock, backend_log
):
    app = render_metadata("app", "1.0", requires_dist=["other"]).encode()
    index.add(fake_sdist(dists_dir, "app", "1.0", app))
    index.add(fake_sdist(dists_dir, "other", "1.0", render_metadata("other", "1.0").encode()))
    index.add(fake_sdist(dists_dir, "third", "1.0", render_metadata("third", "1.0").encode()))

    first = ftlock("solve", "app", index=index)
    second = ftlock("solve", "third", index=index)  # another run, same cache directory

    assert first.exit_code == 0, first.stderr
    assert second.exit_code == 0, second.stderr
    built = [line.split()[-1] for line in backend_log.read_text().splitlines() if "prepare_metadata" in line]
    assert sorted(built) == ["app-1.0", "other-1.0", "third-1.0"]
    assert index.count("/files/fakebackend-2.0-py3-none-any.whl") == 1


def test_build_requirements_are_fetched_with_the_index_credentials(index, dists_dir, proxies, ftlock):
    index.add(fake_sdist(dists_dir, "app", "1.0", render_metadata("app", "1.0").encode()))
    private = proxies(index, auth=("alice", "s3cret"))

    result = ftlock("solve", "app", "--index-url", private.url.replace("http://", "http://alice:s3cret@"))

    assert result.exit_code == 0, result.stderr
    assert private.count("*/fakebackend/") == 1
    assert private.count("/files/fakebackend-2.0-py3-none-any.whl") == 1
    assert all(r.authorization is not None for r in private.log)


def test_a_build_requirement_no_index_offers_fails_naming_it(local_index, dists_dir, ftlock):
    index = local_index()
    index.add(fake_sdist(dists_dir, "app", "1.0", render_metadata("app", "1.0").encode()))

    result = ftlock("solve", "app", index=index)

    assert result.exit_code == 1
    assert error_line(result).startswith(
        "error: app: building metadata (PEP 517) failed: cannot install its build requirements (fakebackend)"
    )


# -- item 3: a failed build says why -----------------------------------------------------------


def test_a_setup_py_importing_a_missing_module_shows_the_exception_and_a_hint(index, dists_dir, ftlock):
    metadata = render_metadata("needs-torch", "1.0").encode()
    setup_py = "import os\nimport torch  # not a build requirement\n"
    index.add(fake_sdist(dists_dir, "needs-torch", "1.0", metadata, setup_py=setup_py))

    result = ftlock("solve", "needs-torch", index=index)

    assert result.exit_code == 1
    assert error_line(result) == (
        "error: needs-torch: building metadata (PEP 517) failed: "
        "ModuleNotFoundError: No module named 'torch' (this package imports torch in its "
        "setup.py but does not list it in its build requirements: pin a version that has "
        "wheels or static metadata)"
    )


def test_setuptools_running_a_setup_py_that_imports_torch_gets_the_setup_py_hint() -> None:
    from ftlock.distribution.pep517 import describe_failure

    # the shape of setuptools' output (it compiles setup.py as "<string>"), as mamba-ssm shows it
    output = (
        "Traceback (most recent call last):\n"
        '  File "/env/lib/python3.11/site-packages/setuptools/build_meta.py", line 317, in run_setup\n'
        "    exec(code, locals())  # noqa: S102 # exec is intentional here\n"
        '  File "<string>", line 19, in <module>\n'
        "ModuleNotFoundError: No module named 'torch'\n"
    )

    assert describe_failure(output, 1) == (
        "ModuleNotFoundError: No module named 'torch' (this package imports torch in its "
        "setup.py but does not list it in its build requirements: pin a version that has "
        "wheels or static metadata)"
    )


@pytest.mark.skipif(os.name == "nt", reason="POSIX scripts and venv layout")
def test_a_build_requirement_wheel_is_unpacked_like_pip_installs_it(tmp_path: Path) -> None:
    import subprocess
    import venv

    from ftlock.distribution.wheelinstall import Scheme, install_wheel

    dist_info = "tool-1.0.dist-info"
    wheel = tmp_path / "tool-1.0-py3-none-any.whl"
    _write_wheel_archive(wheel, dist_info, [
        ("tool/__init__.py", b"def main():\n    print('tool main')\n"),
        ("tool-1.0.data/purelib/tool_extra.py", b"VALUE = 42\n"),
        ("tool-1.0.data/scripts/tool-script", b"#!python\nimport tool_extra\nprint(tool_extra.VALUE)\n"),
        (f"{dist_info}/METADATA", render_metadata("tool", "1.0").encode()),
        (f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{dist_info}/entry_points.txt", b"[console_scripts]\ntool = tool:main\n"),
    ])
    root = tmp_path / "env"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    scheme = Scheme.of(root / "bin" / "python", root)

    with open(wheel, "rb") as fh:
        install_wheel(fh, wheel.name, scheme)

    run = lambda *cmd: subprocess.run(cmd, capture_output=True, text=True, check=True).stdout  # noqa: E731
    assert run(str(scheme.scripts / "tool-script")) == "42\n"
    assert run(str(scheme.scripts / "tool")) == "tool main\n"
    assert (scheme.purelib / dist_info / "METADATA").is_file()


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_metadata_headers_end_at_the_first_empty_line_whatever_the_line_ends(end: str) -> None:
    text = end.join(
        ["Name: demo", "Version: 1.0", "Requires-Dist: lib", "", "Requires-Dist: in-the-description", "x"]
    )
    cr_then_lf = "Name: demo\r\nVersion: 1.0\r\rRequires-Dist: after-an-empty-line"

    assert parse_metadata(text, "demo").requires_dist == ("lib",)
    assert parse_metadata(text.split(end + end)[0], "demo").requires_dist == ("lib",)  # no body
    assert parse_metadata(cr_then_lf, "demo").requires_dist == ()  # "\r\r": an empty line
