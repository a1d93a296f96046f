"""Specification: a resolution carries facts, and the writers word them.

The resolver returns data (:mod:`ftlock.resolve.facts`): which rule shaped which pin, what a
base environment changes and why, what applied.  The lock writers word the lock, the CLI
stderr; the solve cache stores the facts, so an answer from it is worded the same."""

from __future__ import annotations

from msgspec.structs import fields

from ftlock.index.models import DistFile
from ftlock.lock import render
from ftlock.lock.lockfile import recorded_entries
from ftlock.resolve import facts
from ftlock.resolve.memo import _dump, _load
from ftlock.resolve.result import LockedPackage, Resolution, SolveRequest, SolveStats
from ftlock.resolve.target import Target

SHAPED = facts.RuleShaped("peft", ">=0.12.0", True, True, "unsloth", "2024.7", "r-1", "https://example.org/1")
MOVED = facts.RuleMoved("peft", "0.12.0", "0.11.1", "a summary", "r-2", "https://example.org/2")
BUILD = facts.SourceBuild("peft", "0.11.1", "CUDA kernels", None)
WARNED = facts.WarnRuleBroken(("peft 0.11.1", "app 1.0"), "peft 0.11.1 must not be used with app==1.0", "r-3", "warn", "s", "y", "f", "https://example.org/3")
EARLIER = facts.RuleShaped("peft", "<0.13", False, False, "app", "1.0", "r-0", "https://example.org/0")


def _resolution() -> Resolution:
    wheel = DistFile("peft-0.11.1-py3-none-any.whl", "https://files.example/peft.whl", "a" * 64)
    package = LockedPackage(
        "peft", "0.11.1", (wheel,), "https://pypi.example/simple", None, ("requested",),  # type: ignore[arg-type]
        notes=(SHAPED, EARLIER, MOVED, BUILD, WARNED),
    )
    return Resolution(
        packages=(package,),
        target=Target.from_options("3.11", "linux_x86_64"),
        indexes=("https://pypi.example/simple",),
        default_index="https://pypi.example/simple",
        exclude_newer=None,
        stats=SolveStats(0.0, 0, 0),
        stack=facts.GpuStack(
            facts.GpuTarget("a100", "NVIDIA A100", "ampere", "8.0", "sm80"), None,
            facts.Quantization("4bit", "load_in_4bit"), None, None,
        ),
        features=("load_in_4bit",),
        rules_off=facts.RulesOff("--ignore-rule", ("r-9",)),
        pinned_breaks=(facts.PinnedPair(("unsloth 2024.7", "peft 0.12.0"), "r-1", "s", "y", "f", "https://example.org/1"),),
        base=facts.BaseSummary("freeze.txt", 3, False, True),
        warnings=(BUILD, WARNED, facts.PreexistingBreak("r-4"), facts.UncheckedRequirements("setuptools", ("a 1 requires setuptools",))),
        changes=(
            facts.BaseChange("fsspec", "2025.3.2", "2025.3.0", (
                facts.RequiredBy("gcsfs", "2025.3.0", "fsspec", ("http",), "==2025.3.0"),
                facts.RuleRequired("app", "1.0", "fsspec", "<2025", True, "r-5"),
            )),
            facts.BaseAddition("newpkg", "1.0", (), "2.0"),
        ),
        kept=(facts.KeptFromBase("local", "file:///src/local", False, False),),
    )


def test_the_solve_cache_gives_back_the_same_facts():
    solved = _resolution()

    again = _load(_dump(solved), SolveRequest(), solved.target, solved.stats)

    assert again == solved
    assert render(again) == render(solved) and render(again, "pylock") == render(solved, "pylock")


def test_every_fact_goes_through_the_solve_cache():
    for cls in facts._TYPES.values():
        value = cls(**{f.name: _sample(f.type) for f in fields(cls)})
        assert facts.from_json(facts.to_json(value)) == value, cls.__name__


def _sample(annotation: object) -> object:
    text = getattr(annotation, "__name__", str(annotation))  # a class by its name: bool, int
    if text.startswith("tuple"):
        return ("a", "b")
    if text == "bool":
        return True
    if text == "int":
        return 3
    if "GpuTarget" in text:
        return facts.GpuTarget("a100", "NVIDIA A100", "ampere", "8.0", "sm80")
    if "ChangeReason" in text:
        return (facts.YouRequested("x>=1"),)
    return "x"


def test_the_writers_word_a_pin_s_notes_the_same_and_rule_requirements_first():
    solved = _resolution()

    lock = render(solved).splitlines()
    recorded = recorded_entries(solved, "requirements")["peft"].notes

    notes = [line.strip()[2:] for line in lock if line.startswith("    # ftlock")]
    assert notes[:2] == [
        "ftlock: peft not >=0.12.0 (if installed) because unsloth 2024.7 — rule r-1, https://example.org/1",
        "ftlock: peft<0.13 because app 1.0 — rule r-0, https://example.org/0",
    ]
    assert notes[2].startswith("ftlock: peft 0.12.0 without this rule; the solver backtracked to 0.11.1 because a summary")
    assert notes[3].startswith("ftlock: built from source at install: peft 0.11.1")
    assert notes[4] == "ftlock warning: peft 0.11.1 must not be used with app==1.0 — rule r-3, https://example.org/3"
    assert recorded == tuple(notes)
    assert "# Knowledge rules NOT applied (--ignore-rule): r-9" in lock
    assert "# Base: freeze.txt (3 packages installed); this lock holds only the packages to install or change; --keep-base" in lock
    assert "# GPU: NVIDIA A100 (ampere, compute capability 8.0, sm80) --gpu a100" in lock


def test_the_cli_words_warnings_and_changes():
    from ftlock.cli import wording

    solved = _resolution()

    assert wording.changes(solved) == [
        "~ fsspec 2025.3.2 -> 2025.3.0 (gcsfs 2025.3.0 requires fsspec[http]==2025.3.0; "
        "app 1.0 forbids fsspec<2025 by knowledge rule r-5)",
        "+ newpkg 1.0 (new; required by requested; newest is 2.0, which needs changes to installed "
        "packages — ask for newpkg>=2.0 to allow them)",
    ]
    assert wording.warnings(solved)[2] == (
        "the base environment already breaks knowledge rule r-4; left as installed "
        "(`ftlock check` on the freeze explains it, `ftlock kb show r-4` shows the fix)"
    )
    assert wording.warnings(solved)[3].startswith("setuptools is not in the freeze")
