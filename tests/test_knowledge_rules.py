"""Specification: rules whose bad versions no index serves still act on direct references.

unsloth's oldest release on the index is 2024.8, so `unsloth-2024.7-peft-0.12-zero-qkv` never
acts in an index solve; it stays for `check` and for unsloth installed from a git checkout or
a wheel file — a direct reference, whose version the solver reads from the wheel itself.
"""

from __future__ import annotations

from tests.support.dists import build_wheel

RULE = "unsloth-2024.7-peft-0.12-zero-qkv"


def pins(lock: str) -> list[str]:
    return [l.split(" \\")[0] for l in lock.splitlines() if l and not l.startswith((" ", "#", "-"))]


def test_a_rule_acts_on_a_local_wheel_given_as_a_direct_reference(
    local_index, dists_dir, ftlock, tmp_path
):
    index = local_index()
    for version in ("0.11.1", "0.12.0"):
        index.add(build_wheel(dists_dir, "peft", version))
    wheel = build_wheel(tmp_path / "local", "unsloth", "2024.7")

    result = ftlock("solve", str(wheel), "peft", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["peft==0.11.1", f"unsloth @ {wheel.as_uri()}"]
    assert f"rule {RULE}" in result.lock


def test_a_direct_reference_outside_the_rule_range_leaves_the_newest_version(
    local_index, dists_dir, ftlock, tmp_path
):
    index = local_index()
    for version in ("0.11.1", "0.12.0"):
        index.add(build_wheel(dists_dir, "peft", version))
    wheel = build_wheel(tmp_path / "local", "unsloth", "2024.8")

    result = ftlock("solve", str(wheel), "peft", index=index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["peft==0.12.0", f"unsloth @ {wheel.as_uri()}"]
    assert RULE not in result.lock
