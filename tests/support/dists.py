"""Build tiny, *real* distribution files for tests.

The resolver under test reads wheels and sdists the same way it would from a
real index: it opens zip archives, parses ``METADATA`` / ``PKG-INFO`` and may
run PEP 517 hooks.  Hand-written fixture bytes would drift from what real tools
produce, so these helpers generate spec-conforming archives on demand.

Every archive is byte-for-byte deterministic for the same arguments (fixed
timestamps, fixed permissions, sorted members, ``gzip`` mtime 0).  That keeps
sha256 hashes stable, so tests can pin hashes in lockfiles and assert that a
second resolution produces an identical lock.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
import random
import re
import tarfile
import textwrap
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.tags import parse_tag
from packaging.version import InvalidVersion, Version

__all__ = [
    "BACKEND_LOG_ENV",
    "BACKEND_MODULE",
    "build_sdist",
    "build_wheel",
    "dist_name",
    "read_wheel_metadata",
    "render_metadata",
    "sha256_bytes",
    "sha256_file",
]

#: Zip cannot represent timestamps before 1980; this is the earliest legal one.
ZIP_EPOCH: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0)
#: Fixed tar mtime (2024-01-01T00:00:00Z).  Not 0, because extracting an sdist
#: and zipping its files again would fail on pre-1980 timestamps.
TAR_MTIME = 1704067200
#: Size of one padding member; random bytes so deflate cannot shrink them.
PADDING_FILE_SIZE = 8 * 1024
#: Module name of the in-tree PEP 517 backend written by ``build_sdist``.
BACKEND_MODULE = "ftlock_test_backend"
#: When this environment variable names a file, the in-tree backend appends one
#: line per hook call (``"<hook> <name> <version>"``).  Tests use it to assert
#: that a resolver ran -- or, thanks to caching, did *not* re-run -- a hook.
BACKEND_LOG_ENV = "FTLOCK_TEST_BACKEND_LOG"


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


#: ``tarfile`` extraction with the ``data`` filter where this Python has it (3.10.12+,
#: 3.11.4+), so tests that unpack an sdist run on every Python the project supports.
SAFE_EXTRACT: dict[str, str] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data`` (the format used by indexes and lockfiles)."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path | str) -> str:
    """Hex sha256 of a file, streamed so large files are fine too."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dist_name(name: str) -> str:
    """Escape a project name for file names and import names.

    Wheel and sdist file names (and ``.dist-info`` directories) use the
    normalized name with runs of ``-_.`` collapsed to ``_`` and lower-cased.
    The same string is a valid module name for our generated packages.
    """
    return re.sub(r"[-_.]+", "_", name).lower()


def _file_version(version: str) -> str:
    """Normalize a version for file names, as build backends do.

    Unparseable versions are kept verbatim so tests can still build
    deliberately odd distributions.
    """
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def _record_hash(data: bytes) -> str:
    """``RECORD`` hash: urlsafe base64 sha256 without ``=`` padding."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def render_metadata(
    name: str,
    version: str,
    *,
    metadata_version: str = "2.1",
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    provides_extra: Iterable[str] = (),
    dynamic: Iterable[str] = (),
    summary: str | None = None,
) -> str:
    """Render a core metadata document (``METADATA`` / ``PKG-INFO``).

    Exposed so tests can compare what a resolver extracted against the exact
    text that was packaged.
    """
    lines = [
        f"Metadata-Version: {metadata_version}",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary if summary is not None else f'Test distribution {name}'}",
    ]
    lines += [f"Dynamic: {field}" for field in dynamic]
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {extra}" for extra in provides_extra]
    lines += [f"Requires-Dist: {req}" for req in requires_dist]
    return "\n".join(lines) + "\n"


def _module_source(name: str, version: str) -> bytes:
    return f'"""Test package {name}."""\n\n__version__ = {version!r}\n'.encode()


def _zip_info(arcname: str) -> zipfile.ZipInfo:
    """A ZipInfo with everything that could vary between runs pinned down."""
    info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # unix, regardless of the host OS
    info.external_attr = 0o100644 << 16
    return info


def _write_wheel_archive(path: Path, dist_info: str, members: Sequence[tuple[str, bytes]]) -> None:
    """Write ``members`` then a correct ``RECORD`` as the last zip member."""
    record_name = f"{dist_info}/RECORD"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for arcname, data in members:
        writer.writerow([arcname, _record_hash(data), str(len(data))])
    writer.writerow([record_name, "", ""])
    record = buf.getvalue().encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in [*members, (record_name, record)]:
            zf.writestr(_zip_info(arcname), data)


# --------------------------------------------------------------------------
# wheels
# --------------------------------------------------------------------------


def build_wheel(
    dest: Path,
    name: str,
    version: str,
    *,
    requires_dist: Sequence[str] = (),
    requires_python: str | None = None,
    provides_extra: Sequence[str] = (),
    tag: str = "py3-none-any",
    metadata_version: str = "2.1",
    padding_files: int = 0,
    module_source: str | None = None,
) -> Path:
    """Write a valid wheel into ``dest`` and return its path.

    The archive holds ``{pkg}/__init__.py``, optional padding and the
    ``.dist-info`` (``METADATA``, ``WHEEL``, ``RECORD`` last).

    ``padding_files`` adds that many ~8 KiB incompressible members *before*
    the ``.dist-info``.  With 8+ of them the wheel exceeds 64 KiB and its
    metadata and central directory sit in the tail, which is what lazy
    "read METADATA via HTTP range requests" code paths need to be exercised.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    pkg = dist_name(name)
    fversion = _file_version(version)
    dist_info = f"{pkg}-{fversion}.dist-info"

    # ``module_source``: the package's own ``__init__.py`` (e.g. one whose import fails)
    source = module_source.encode() if module_source is not None else _module_source(name, version)
    members: list[tuple[str, bytes]] = [(f"{pkg}/__init__.py", source)]
    for i in range(padding_files):
        # Seeded per file: deterministic, yet distinct so nothing dedupes.
        blob = random.Random(f"{pkg}-{fversion}-{i}").randbytes(PADDING_FILE_SIZE)
        members.append((f"{pkg}/_padding/blob_{i:03d}.bin", blob))

    metadata = render_metadata(
        name,
        version,
        metadata_version=metadata_version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        provides_extra=provides_extra,
    )
    # Compressed tag sets (``py2.py3-none-any``) expand to one Tag line each.
    tags = sorted(str(t) for t in parse_tag(tag))
    wheel_file = "".join(
        [
            "Wheel-Version: 1.0\n",
            "Generator: ftlock-tests\n",
            "Root-Is-Purelib: true\n",
            *(f"Tag: {t}\n" for t in tags),
        ]
    )
    members.append((f"{dist_info}/METADATA", metadata.encode()))
    members.append((f"{dist_info}/WHEEL", wheel_file.encode()))

    path = dest / f"{pkg}-{fversion}-{tag}.whl"
    _write_wheel_archive(path, dist_info, members)
    return path


def read_wheel_metadata(path: Path | str) -> bytes:
    """Return the raw ``METADATA`` bytes of a wheel (what PEP 658 serves)."""
    with zipfile.ZipFile(path) as zf:
        candidates = [
            n
            for n in zf.namelist()
            if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        ]
        if len(candidates) != 1:
            raise ValueError(f"{path}: expected exactly one .dist-info/METADATA, found {candidates}")
        return zf.read(candidates[0])


# --------------------------------------------------------------------------
# sdists
# --------------------------------------------------------------------------

# The in-tree backend is standard-library only because the frontend runs it
# in an isolated environment with ``requires = []`` and no network.  It is
# deliberately independent of this module: it has to run inside an extracted
# sdist where ``tests.support`` is not importable.
_BACKEND_BODY = textwrap.dedent(
    '''
    import base64
    import csv
    import hashlib
    import io
    import os
    import tarfile
    import zipfile

    _PKG = NAME_ESCAPED
    _DIST_INFO = _PKG + "-" + FILE_VERSION + ".dist-info"
    _WHEEL_NAME = _PKG + "-" + FILE_VERSION + "-py3-none-any.whl"
    _WHEEL = (
        "Wheel-Version: 1.0\\n"
        "Generator: ftlock-test-backend\\n"
        "Root-Is-Purelib: true\\n"
        "Tag: py3-none-any\\n"
    )


    def _log(hook):
        path = os.environ.get(LOG_ENV)
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(hook + " " + NAME + " " + VERSION + "\\n")


    def get_requires_for_build_wheel(config_settings=None):
        _log("get_requires_for_build_wheel")
        return []


    def get_requires_for_build_sdist(config_settings=None):
        _log("get_requires_for_build_sdist")
        return []


    def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
        _log("prepare_metadata_for_build_wheel")
        target = os.path.join(metadata_directory, _DIST_INFO)
        os.makedirs(target, exist_ok=True)
        with open(os.path.join(target, "METADATA"), "w", encoding="utf-8", newline="\\n") as fh:
            fh.write(METADATA)
        with open(os.path.join(target, "WHEEL"), "w", encoding="utf-8", newline="\\n") as fh:
            fh.write(_WHEEL)
        return _DIST_INFO


    def _record_hash(data):
        digest = hashlib.sha256(data).digest()
        return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


    def _zip_info(arcname):
        info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        info.external_attr = 0o100644 << 16
        return info


    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        _log("build_wheel")
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, _PKG, "__init__.py"), "rb") as fh:
            module = fh.read()
        members = [
            (_PKG + "/__init__.py", module),
            (_DIST_INFO + "/METADATA", METADATA.encode("utf-8")),
            (_DIST_INFO + "/WHEEL", _WHEEL.encode("utf-8")),
        ]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\\n")
        for arcname, data in members:
            writer.writerow([arcname, _record_hash(data), str(len(data))])
        writer.writerow([_DIST_INFO + "/RECORD", "", ""])
        members.append((_DIST_INFO + "/RECORD", buf.getvalue().encode("utf-8")))
        with zipfile.ZipFile(os.path.join(wheel_directory, _WHEEL_NAME), "w") as zf:
            for arcname, data in members:
                zf.writestr(_zip_info(arcname), data)
        return _WHEEL_NAME


    def build_sdist(sdist_directory, config_settings=None):
        _log("build_sdist")
        here = os.path.dirname(os.path.abspath(__file__))
        base = _PKG + "-" + FILE_VERSION
        name = base + ".tar.gz"
        with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as tf:
            for rel in sorted(["PKG-INFO", "pyproject.toml", BACKEND_FILE, _PKG + "/__init__.py"]):
                tf.add(os.path.join(here, rel), arcname=base + "/" + rel)
        return name
    '''
)


def _backend_source(name: str, version: str, metadata: str) -> str:
    """Render the in-tree backend with this distribution's facts baked in."""
    header = "\n".join(
        [
            f'"""In-tree PEP 517 backend generated by tests/support/dists.py for {name}."""',
            f"NAME = {name!r}",
            f"VERSION = {version!r}",
            f"NAME_ESCAPED = {dist_name(name)!r}",
            f"FILE_VERSION = {_file_version(version)!r}",
            f"METADATA = {metadata!r}",
            f"LOG_ENV = {BACKEND_LOG_ENV!r}",
            f"BACKEND_FILE = {BACKEND_MODULE + '.py'!r}",
        ]
    )
    return header + "\n" + _BACKEND_BODY


def _toml_str(value: str) -> str:
    """Quote a string for TOML (basic string; JSON escaping is compatible)."""
    return json.dumps(value)


def _toml_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def _add_tar_member(tf: tarfile.TarFile, arcname: str, data: bytes) -> None:
    info = tarfile.TarInfo(arcname)
    info.size = len(data)
    info.mtime = TAR_MTIME
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tf.addfile(info, io.BytesIO(data))


def build_sdist(
    dest: Path,
    name: str,
    version: str,
    *,
    requires_dist: Sequence[str] = (),
    requires_python: str | None = None,
    metadata_version: str = "2.2",
    dynamic: Sequence[str] = (),
    pep517_backend: bool = False,
) -> Path:
    """Write a deterministic ``{name}-{version}.tar.gz`` sdist into ``dest``.

    Without ``pep517_backend`` the sdist looks like a normal setuptools
    project (``PKG-INFO`` + static ``[project]`` table).  Building it would
    need setuptools from an index, so it is meant for tests where the resolver
    trusts static PEP 643 metadata (``Metadata-Version >= 2.2`` and no
    ``Dynamic: Requires-Dist``).

    With ``pep517_backend=True`` the sdist carries a stdlib-only in-tree
    backend (``requires = []``) and ``PKG-INFO`` declares
    ``Dynamic: Requires-Dist``, so a correct resolver *must* run
    ``prepare_metadata_for_build_wheel`` to learn the dependencies -- and it
    can do so offline.  Set :data:`BACKEND_LOG_ENV` to observe hook calls.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    pkg = dist_name(name)
    base = f"{pkg}-{_file_version(version)}"

    dynamic_fields = list(dynamic)
    if pep517_backend and not any(f.lower() == "requires-dist" for f in dynamic_fields):
        dynamic_fields.append("Requires-Dist")

    pkg_info = render_metadata(
        name,
        version,
        metadata_version=metadata_version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        dynamic=dynamic_fields,
    )

    project_lines = ["[project]", f"name = {_toml_str(name)}", f"version = {_toml_str(version)}"]
    if requires_python is not None:
        project_lines.append(f"requires-python = {_toml_str(requires_python)}")

    files: dict[str, bytes] = {
        "PKG-INFO": pkg_info.encode(),
        f"{pkg}/__init__.py": _module_source(name, version),
    }
    if pep517_backend:
        # What the backend reports as METADATA: same facts, but a wheel's
        # METADATA never carries Dynamic, so render without it.
        wheel_metadata = render_metadata(
            name,
            version,
            metadata_version=metadata_version,
            requires_dist=requires_dist,
            requires_python=requires_python,
        )
        build_system = [
            "[build-system]",
            "requires = []",
            f'build-backend = "{BACKEND_MODULE}"',
            'backend-path = ["."]',
        ]
        project_lines.append('dynamic = ["dependencies"]')
        files[f"{BACKEND_MODULE}.py"] = _backend_source(name, version, wheel_metadata).encode()
    else:
        build_system = [
            "[build-system]",
            'requires = ["setuptools>=61"]',
            'build-backend = "setuptools.build_meta"',
        ]
        project_lines.append(f"dependencies = {_toml_list(requires_dist)}")
    files["pyproject.toml"] = ("\n".join(build_system) + "\n\n" + "\n".join(project_lines) + "\n").encode()

    path = dest / f"{base}.tar.gz"
    raw = io.BytesIO()
    # filename="" and mtime=0 keep the gzip header free of run-specific data.
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tf:
            for rel in sorted(files):
                _add_tar_member(tf, f"{base}/{rel}", files[rel])
    path.write_bytes(raw.getvalue())
    return path
