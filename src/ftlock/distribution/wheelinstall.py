"""Unpack a wheel into a virtual environment: what a build environment needs, no more.

ftlock installs build requirements itself rather than asking pip, because pip would read
its own configuration (indexes, find-links) and the whole point of a build environment is
that its files came from the solve's indexes, hash-checked.  The files are already
downloaded and verified when they get here, so installing is unpacking (PEP 427): the
archive's root into purelib or platlib, each ``<dist>.data/<scheme>/`` into that scheme's
directory, ``#!python`` scripts and entry points turned into scripts that run the
environment's interpreter.  No RECORD is rewritten and nothing is byte-compiled: the
environment is private to ftlock and only ever runs a build backend.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import msgspec

from ftlock.errors import MetadataError

#: What a wheel may unpack to, in all (the sum of its members' declared sizes, which zipfile
#: enforces while inflating): CUDA wheels unpack to a few GiB; a zip bomb claims far more.
MAX_UNPACKED_WHEEL_BYTES = 32 * 1024 * 1024 * 1024

_SCRIPT = """\
#!{python}
# -*- coding: utf-8 -*-
import sys
from {module} import {head}
if __name__ == "__main__":
    sys.exit({call}())
"""

class Scheme(msgspec.Struct, frozen=True):
    """Where each part of a wheel goes in one environment (the interpreter's own answer,
    so distributions that put platlib in ``lib64`` are handled like pip handles them)."""

    python: Path
    purelib: Path
    platlib: Path
    scripts: Path
    data: Path
    headers: Path

    @classmethod
    def of(cls, python: Path, prefix: Path) -> Scheme:
        code = "import json, sys, sysconfig; print(json.dumps([sysconfig.get_paths(), sys.version_info[:2]]))"
        try:
            out = subprocess.run(
                [str(python), "-I", "-c", code], capture_output=True, text=True, check=True, timeout=60
            ).stdout
            paths, version = json.loads(out)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            raise MetadataError(f"the build environment's interpreter {python} does not run ({exc})") from None
        return cls(
            python=python,
            purelib=Path(paths["purelib"]),
            platlib=Path(paths["platlib"]),
            scripts=Path(paths["scripts"]),
            data=Path(paths["data"]),
            # the interpreter's include directory is outside the environment: pip's venv layout
            headers=prefix / "include" / "site" / f"python{version[0]}.{version[1]}",
        )


def _safe(name: str, filename: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or ":" in path.parts[0]:
        raise MetadataError(f"{filename}: unsafe path {name!r} in wheel")
    return path


def _root_is_purelib(archive: zipfile.ZipFile, dist_info: str) -> bool:
    text = archive.read(f"{dist_info}/WHEEL").decode("utf-8", "replace")
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "root-is-purelib":
            return value.strip().lower() == "true"
    return True


def _dist_info(archive: zipfile.ZipFile, filename: str) -> str:
    found = {n.split("/")[0] for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/WHEEL")}
    if len(found) != 1:
        raise MetadataError(f"{filename}: not a valid wheel (no single .dist-info/WHEEL)")
    return found.pop()


def install_wheel(wheel: BinaryIO, filename: str, scheme: Scheme) -> None:
    """Unpack the wheel in ``wheel`` (a seekable file, already hash-checked) into
    ``scheme``'s environment, one member at a time (a CUDA library is never in memory)."""
    try:
        archive = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError) as exc:
        raise MetadataError(f"{filename}: not a valid wheel ({exc})") from None
    with archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_WHEEL_BYTES:
            raise MetadataError(f"{filename}: unpacks to more than {MAX_UNPACKED_WHEEL_BYTES >> 30} GiB")
        dist_info = _dist_info(archive, filename)
        data_dir = dist_info.removesuffix(".dist-info") + ".data"
        root = scheme.purelib if _root_is_purelib(archive, dist_info) else scheme.platlib
        targets = {
            "purelib": scheme.purelib,
            "platlib": scheme.platlib,
            "scripts": scheme.scripts,
            "data": scheme.data,
            "headers": scheme.headers / dist_info.removesuffix(".dist-info").rsplit("-", 1)[0],
        }
        for info in archive.infolist():
            if info.is_dir():
                continue
            path = _safe(info.filename, filename)
            script = False
            if path.parts[0] == data_dir:
                if len(path.parts) < 3 or path.parts[1] not in targets:
                    raise MetadataError(f"{filename}: unknown wheel data directory {info.filename!r}")
                dest = targets[path.parts[1]].joinpath(*path.parts[2:])
                script = path.parts[1] == "scripts"
            else:
                dest = root.joinpath(*path.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(dest, "wb") as out:
                if script:
                    out.write(_shebang(source.readline(64 * 1024), scheme.python))
                shutil.copyfileobj(source, out, 1 << 20)
            if script or (info.external_attr >> 16) & 0o111:
                _make_executable(dest)
        if f"{dist_info}/entry_points.txt" in archive.namelist():
            text = archive.read(f"{dist_info}/entry_points.txt").decode("utf-8", "replace")
            _entry_point_scripts(text, scheme)


def _shebang(first: bytes, python: Path) -> bytes:
    """A script's first line: PEP 427's ``#!python`` (or ``#!pythonw``) means "the
    environment's interpreter"; any other line is kept."""
    for marker in (b"#!pythonw", b"#!python"):
        if first.startswith(marker):
            return b"#!" + str(python).encode() + first[len(marker):]
    return first


def _make_executable(path: Path) -> None:
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _entry_point_scripts(text: str, scheme: Scheme) -> None:
    """Console and GUI scripts, as small Python files that run the environment's
    interpreter (a backend may call, say, ``cython`` or ``ninja`` by name)."""
    parser = configparser.RawConfigParser(delimiters=("=",))
    # assigning optionxform is configparser's documented API; the stub declares a method
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return  # a broken entry_points.txt costs scripts, never the build environment
    for section in ("console_scripts", "gui_scripts"):
        if not parser.has_section(section):
            continue
        for name, target in parser.items(section):
            module, _, attrs = target.partition(":")
            attrs = attrs.split("[")[0].strip()
            if not module.strip() or not attrs or "/" in name or "\\" in name or name.startswith("."):
                continue
            head = attrs.split(".")[0]
            source = _SCRIPT.format(python=scheme.python, module=module.strip(), head=head, call=attrs)
            path = scheme.scripts / (f"{name}-script.py" if os.name == "nt" else name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source, encoding="utf-8")
            _make_executable(path)
