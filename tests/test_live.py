"""Smoke test against the machine's real, configured package index.

Marked ``live``; deselect with ``-m "not live"``.  It skips itself when the index cannot
be reached, so it is safe on machines without network access.
"""

from __future__ import annotations

import os
import re

import pytest

# Snapshot taken at import (collection), before the autouse ``isolated_pip_config``
# fixture hides pip's configuration, index variables and proxies for each test.
_MACHINE_ENV = dict(os.environ)
_RESTORED = (
    "PIP_CONFIG_FILE",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)


@pytest.mark.live
def test_solves_requests_against_the_configured_index(ftlock, monkeypatch):
    # Give the machine's pip configuration back (the conftest fixture points
    # PIP_CONFIG_FILE at /dev/null and drops index and proxy variables).
    monkeypatch.delenv("PIP_CONFIG_FILE")
    for var in _RESTORED:
        if var in _MACHINE_ENV:
            monkeypatch.setenv(var, _MACHINE_ENV[var])
        else:
            monkeypatch.delenv(var, raising=False)

    result = ftlock(
        "solve", "requests", "--python", "3.11", "--platform", "linux_x86_64", "--no-cache",
        "--timeout", "5", "--retries", "0",
    )

    if result.exit_code != 0 and "cannot reach" in result.stderr:
        pytest.skip(f"configured index unreachable: {result.stderr.strip()}")
    assert result.exit_code == 0, result.stderr
    names = {}
    for line in result.lock.splitlines():
        match = re.match(r"^([a-z0-9-]+)==(\S+) \\$", line)
        if match:
            names[match.group(1)] = match.group(2)
    assert {"requests", "certifi", "idna", "urllib3", "charset-normalizer"} <= set(names)
    for name in names:
        entry_start = result.lock.index(f"{name}=={names[name]} \\")
        assert result.lock[entry_start:].splitlines()[1].startswith("    --hash=sha256:")
