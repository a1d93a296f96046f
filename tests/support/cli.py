"""Reading what the command line printed, in tests."""

from __future__ import annotations

from typing import Any


def error_line(result: Any) -> str:
    """stderr, asserted to be exactly one ``error: ...`` line and no traceback: how every
    failure reaches a user."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return str(lines[0])
