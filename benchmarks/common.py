"""Shared plumbing of the benchmark scripts: import path, index discovery, redaction.

Every script in this folder starts with :func:`bootstrap`, because running
``python benchmarks/profile.py`` puts ``benchmarks/`` itself first on ``sys.path`` — and a
``profile.py`` there would shadow the standard library's ``profile`` that ``cProfile``
imports.  Bootstrapping swaps that entry for the repository root, so the helpers are
imported as ``benchmarks.*`` whichever way a script was started.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
RESULTS_DIR = HERE / "results"
MIRROR_DATA = HERE / "mirror-data"
DOCS_MD = REPO_ROOT / "docs" / "benchmarks.md"


def bootstrap() -> None:
    """Make ``benchmarks.*`` importable and stop ``benchmarks/`` shadowing the stdlib."""
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def default_index_url() -> str:
    """The primary index pip would use here, read at run time (never hard-coded).

    ``PIP_INDEX_URL``, else ``index-url`` from pip's configuration files, else pip's
    built-in default.  Extra indexes, find-links and constraint files of the machine's pip
    configuration are deliberately *not* part of the benchmark: uv ignores pip's
    configuration, so the three tools only solve the same problem on one shared index.
    """
    env = os.environ.get("PIP_INDEX_URL")
    if env:
        return env.split()[0].rstrip("/")
    try:
        from pip._internal.configuration import Configuration  # noqa: PLC0415

        config = Configuration(isolated=False)
        config.load()
        for key in ("install.index-url", "global.index-url"):
            try:
                value = config.get_value(key)
            except Exception:  # noqa: BLE001 - pip raises ConfigurationError when unset
                continue
            if value:
                return str(value).split()[0].rstrip("/")
    except Exception:  # noqa: BLE001 - pip internals may move; fall back to the default
        pass
    from pip._internal.models.index import PyPI  # noqa: PLC0415

    return str(PyPI.simple_url).rstrip("/")


_URL = re.compile(r"https?://[^\s/\"'<>]+")


def redact_hosts(text: str) -> str:
    """Replace every non-local URL host with ``<index>``.

    Results, logs and docs must never name a registry's host, yet tool output (lock
    headers, error lines) is full of URLs; everything written to disk passes through here.
    """

    def swap(match: re.Match[str]) -> str:
        url = match.group(0)
        host = url.split("://", 1)[1].split("@")[-1].split(":")[0]
        if host in ("127.0.0.1", "localhost"):
            return url
        return "<index>"

    return _URL.sub(swap, text)


def tool_env(index_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment all three tools run in: one index, no machine-specific pip extras.

    ``PIP_CONFIG_FILE=/dev/null`` and dropping ``PIP_FIND_LINKS``/``PIP_CONSTRAINT`` keep
    pip-compile (and ftlock, which reads pip's configuration) from mixing in the machine's
    local indexes, wheel folders and caps, which uv would never see.  ``PIP_INDEX_URL`` is
    set so that PEP 517 build environments (sdists) use the same index too — in mirror
    mode that keeps every byte local.
    """
    env = {k: v for k, v in os.environ.items()}
    for var in (
        "PIP_FIND_LINKS",
        "PIP_CONSTRAINT",
        "PIP_EXTRA_INDEX_URL",
        "UV_INDEX_URL",
        "UV_EXTRA_INDEX_URL",
        "UV_INDEX",
        "UV_DEFAULT_INDEX",
        "UV_FIND_LINKS",
        "UV_CONSTRAINT",
    ):
        env.pop(var, None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_INDEX_URL"] = index_url
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_NO_PROGRESS"] = "1"
    no_proxy = [p for p in env.get("NO_PROXY", "").split(",") if p]
    env["NO_PROXY"] = ",".join(dict.fromkeys([*no_proxy, "127.0.0.1", "localhost"]))
    env["no_proxy"] = env["NO_PROXY"]
    if extra:
        env.update(extra)
    return env
