"""pip's ``constraint`` setting, read where pip reads it, so that a lock installs where it was made.

``pip install --require-hashes --no-deps -r LOCK`` applies every constraints file named by
``PIP_CONSTRAINT`` or by ``constraint`` in pip's configuration files (``[global]`` or
``[install]``), exactly as if it had been given with ``-c``.  A lock solved without them
pins versions that pip then refuses, after downloading everything ("Cannot install torch==2.15.0
… constraint torch<=2.14.1").  ftlock already takes its indexes from pip's configuration
(:mod:`ftlock.index.settings`); it takes these constraints from it too, names them in the
lock header and on stderr, and ``--isolated`` ignores pip's configuration altogether.

Precedence is pip's: ``PIP_CONSTRAINT`` replaces the configuration files' value; among the
files the last one read wins, and ``[install]`` beats ``[global]`` within a file.  A
relative path is relative to the current directory, as it is for pip.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

from ftlock.errors import UsageError
from ftlock.index.settings import iter_pip_settings, pip_config_files, redact

#: pip's environment variables: ``--isolated`` ignores them along with the files
PIP_ENV_PREFIX = "PIP_"

class PipConstraint(msgspec.Struct, frozen=True):
    """One constraints file that pip's configuration applies to every ``pip install``."""

    path: Path  # absolute: a lock is often made in another directory than it is installed in
    source: str  # where pip's configuration says so: ``PIP_CONSTRAINT`` or ``global.constraint in FILE``

    def describe(self) -> str:
        """``/etc/pip/constraints.txt (global.constraint in /etc/xdg/pip/pip.conf)``."""
        return f"{self.path} ({self.source})"


def _setting(name: str, files: list[Path]) -> tuple[str, str] | None:
    """``(value, "section.name in FILE")`` of ``name`` as pip's ``install`` command sees it."""
    found: tuple[str, str] | None = None
    for key, value, section, path in iter_pip_settings(files):
        if key == name:
            found = (value, f"{section}.{name} in {path}")
    return found


def without_pip_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` less pip's own variables (``PIP_INDEX_URL``, ``PIP_CONSTRAINT``, …), for
    ``--isolated``.  Certificates and proxies (``SSL_CERT_FILE``, ``HTTPS_PROXY``) stay:
    they are the machine's network, not pip's configuration."""
    return {k: v for k, v in environ.items() if not k.startswith(PIP_ENV_PREFIX)}


def pip_constraints(
    environ: Mapping[str, str] | None = None,
    files: list[Path] | None = None,
    cwd: Path | None = None,
) -> tuple[PipConstraint, ...]:
    """The constraints files pip's configuration adds to ``pip install`` here, in order."""
    env = os.environ if environ is None else environ
    if env.get("PIP_CONSTRAINT", "").strip():
        value, source = env["PIP_CONSTRAINT"], "PIP_CONSTRAINT"
    else:
        found = _setting("constraint", pip_config_files() if files is None else files)
        if found is None:
            return ()
        value, source = found
    base = Path.cwd() if cwd is None else cwd
    out: list[PipConstraint] = []
    for item in value.split():
        if "://" in item:
            if not item.lower().startswith("file://"):
                raise UsageError(
                    f"pip's configuration ({source}) names the constraints URL {redact(item)}; "
                    "ftlock reads local constraints files only: download it and pass -c FILE, "
                    "or --isolated to ignore pip's configuration"
                )
            from urllib.parse import unquote, urlsplit

            item = unquote(urlsplit(item).path)
        path = (base / Path(item).expanduser()).resolve()
        if not path.is_file():
            raise UsageError(
                f"pip's configuration ({source}) names the constraints file {path}, which does "
                "not exist (pip install would fail on it too); fix it, or pass --isolated to "
                "ignore pip's configuration"
            )
        entry = PipConstraint(path, source)
        if entry not in out:
            out.append(entry)
    return tuple(out)
