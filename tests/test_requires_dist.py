"""Which Requires-Dist entries apply to a target, and what it costs to find out."""

from __future__ import annotations

import pytest

from ftlock.index.models import Metadata
from ftlock.resolve import provider
from ftlock.resolve.provider import target_dependencies
from ftlock.resolve.target import Target

TARGET = Target.from_options("3.11", "linux_x86_64")

REQUIRES = (
    "base>=1",
    'dev-tool ; extra == "dev"',
    'docs-tool[x] (>=2) ; extra == "docs" and python_version >= "3"',
    'linux-only ; sys_platform == "linux"',
    'windows-only ; sys_platform == "win32"',
    'old-python ; python_version < "3.8"',
    'wheel-url @ https://files.example/w-1.0-py3-none-any.whl;v=2 ; extra == "dev"',
    'not a requirement ; extra == "never"',
    'tests-tool ; extra == "Dev_Tools"',
)


def _names(extras: frozenset[str]) -> list[str]:
    metadata = Metadata(name="demo", version="1.0", requires_dist=REQUIRES, requires_python=None,
                        provides_extra=("dev", "docs", "dev-tools"))
    return [req.name for req in target_dependencies(metadata, extras, TARGET)]


@pytest.mark.parametrize(
    ("extras", "expected"),
    [
        (frozenset(), ["base", "linux-only"]),
        (frozenset({"dev"}), ["dev-tool", "wheel-url"]),
        (frozenset({"docs"}), ["docs-tool"]),
        (frozenset({"dev-tools"}), ["tests-tool"]),  # extra names compare normalised
        (frozenset({"never"}), []),  # the invalid entry is skipped, as pip does
    ],
)
def test_the_entries_that_apply_are_the_ones_their_markers_select(extras, expected):
    assert _names(extras) == expected


def test_entries_for_extras_nobody_asked_for_are_never_parsed(monkeypatch):
    parsed: list[str] = []
    real = provider.parse_requirement.__wrapped__

    def counting(text: str):  # type: ignore[no-untyped-def]
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(provider, "parse_requirement", counting)
    provider._marker_of.cache_clear()

    assert _names(frozenset()) == ["base", "linux-only"]
    # a URL requirement may hold ";" in its URL: it alone is parsed to find its marker
    assert parsed == ["base>=1", 'linux-only ; sys_platform == "linux"', REQUIRES[6]]
