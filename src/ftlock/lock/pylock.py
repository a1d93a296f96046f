"""PEP 751 ``pylock.toml``: the standard lock format, installable by any client that reads it.

One file per target: ``environments`` and ``requires-python`` say where it installs, every
package names its index and lists the files that install on the target (wheels, and the
sdist when the target has no wheel or the index offers one) with URL, size, upload time and
sha256.  ftlock's own records (``# via`` chains, rule notes, the inputs fingerprint) go into
``[tool.ftlock]`` tables, which installers ignore.  Same resolution → same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

import tomli_w

from ftlock._version import __version__
from ftlock.untrusted import is_sha256
from ftlock.errors import UsageError
from ftlock.lock.sources import supplying_indexes
from ftlock.lock.wording import header_lines, note_lines
from ftlock._urls import redact
from ftlock.index.models import DistFile
from ftlock.resolve.result import LockedPackage, Resolution
from ftlock.resolve.target import Target

FILENAME = re.compile(r"^pylock\.([^.]+\.)?toml$")


def environment_marker(target: Target) -> str:
    """The PEP 508 marker that holds exactly on the target (python series and platform)."""
    m = target.markers
    parts = [
        f"sys_platform == '{m['sys_platform']}'",
        f"platform_machine == '{m['platform_machine']}'",
        "implementation_name == 'cpython'",
    ]
    if target.python.exact:
        parts.append(f"python_full_version == '{target.python}'")
    else:
        parts.append(f"python_version == '{m['python_version']}'")
    return " and ".join(parts)


def requires_python(target: Target) -> str:
    return f"=={target.python}" if target.python.exact else f"=={target.python}.*"


def _time(value: float | None) -> datetime | None:
    if value is None:
        return None
    try:  # the pages' parser keeps upload times to years 1-9999; stay safe regardless
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, ValueError, OSError):
        return None


def _file_entry(file: DistFile) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": file.filename}
    uploaded = _time(file.upload_time)
    if uploaded is not None:
        entry["upload-time"] = uploaded
    entry["url"] = redact(file.url)
    if file.size is not None:
        entry["size"] = file.size
    entry["hashes"] = {"sha256": file.sha256} if is_sha256(file.sha256) else {}
    return entry


def _source(package: LockedPackage) -> dict[str, Any]:
    """``vcs``/``directory``/``archive`` of a direct reference."""
    url = package.url or ""
    if url.startswith("git+"):
        parts = urlsplit(url.removeprefix("git+"))
        path, _, commit = parts.path.rpartition("@")
        if not re.fullmatch(r"[0-9a-f]{40}", commit):
            raise UsageError(
                f"{package.name}: pylock.toml needs the git commit of {redact(url)}; "
                "pin the URL to a commit"
            )
        repo = f"{parts.scheme}://{parts.netloc}{path}"
        vcs: dict[str, Any] = {"type": "git", "url": redact(repo), "commit-id": commit}
        fragment = dict(p.partition("=")[::2] for p in parts.fragment.split("&") if p)
        if fragment.get("subdirectory"):
            vcs["subdirectory"] = fragment["subdirectory"]
        return {"vcs": vcs}
    if not package.files:  # a local source tree
        return {"directory": {"path": unquote(urlsplit(url).path)}}
    file = package.files[0]
    archive: dict[str, Any] = {}
    if url.startswith("file:"):
        archive["path"] = unquote(urlsplit(url).path)
    else:
        archive["url"] = redact(url)
    if file.size is not None:
        archive["size"] = file.size
    archive["hashes"] = {"sha256": file.sha256} if file.sha256 else {}
    return {"archive": archive}


def package_table(package: LockedPackage, children: Sequence[str]) -> dict[str, Any]:
    """The ``[[packages]]`` table of one package (also read back by
    :func:`ftlock.lock.lockfile.recorded_entries`, which so agrees with the file)."""
    entry: dict[str, Any] = {"name": package.name, "version": package.version}
    if children:
        entry["dependencies"] = [{"name": name} for name in children]
    if package.url:
        entry.update(_source(package))
    else:
        if package.index_url:
            entry["index"] = redact(package.index_url)
        wheels = sorted((f for f in package.files if f.is_wheel), key=lambda f: f.filename)
        sdists = sorted(
            (f for f in package.files if f.is_sdist),
            key=lambda f: (not f.filename.endswith(".tar.gz"), f.filename),
        )
        if sdists:
            entry["sdist"] = _file_entry(sdists[0])
        if wheels:
            entry["wheels"] = [_file_entry(f) for f in wheels]
    tool: dict[str, Any] = {}
    if package.required_by:
        tool["via"] = list(package.required_by)
    if package.notes:
        tool["notes"] = note_lines(package.notes)
    if package.yanked:
        tool["yanked"] = True
    if tool:
        entry["tool"] = {"ftlock": tool}
    return entry


def render(
    resolution: Resolution,
    command: str,
    fingerprint: str | None = None,
    inputs: Sequence[str] = (),
) -> str:
    """The ``pylock.toml`` text for a resolution (``fingerprint``/``inputs``: see
    :mod:`ftlock.project.fingerprint`; recorded under ``[tool.ftlock]``)."""
    names = {p.name for p in resolution.packages}
    children: dict[str, list[str]] = {}
    for package in resolution.packages:
        for parent in package.required_by:
            if parent in names:
                children.setdefault(parent, []).append(package.name)
    tool: dict[str, Any] = {
        "generator": f"ftlock {__version__}",
        "command": command,
        "target": resolution.target.describe(),
        # only the indexes that supplied a package (ftlock.lock.sources)
        "indexes": [redact(u) for u in supplying_indexes(resolution)],
    }
    if resolution.exclude_newer is not None:
        tool["exclude-newer"] = resolution.exclude_newer
    if resolution.binary:
        tool["binary-policy"] = list(resolution.binary)
    notes = header_lines(resolution)
    if notes:
        tool["notes"] = notes
    if fingerprint is not None:
        tool["inputs-fingerprint"] = fingerprint
        tool["inputs"] = list(inputs)
    doc: dict[str, Any] = {
        "lock-version": "1.0",
        "environments": [environment_marker(resolution.target)],
        "requires-python": requires_python(resolution.target),
        "created-by": "ftlock",
        "packages": [package_table(p, sorted(children.get(p.name, ()))) for p in resolution.packages],
        "tool": {"ftlock": tool},
    }
    return tomli_w.dumps(doc)
