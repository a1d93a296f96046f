"""The benchmark inputs of issue 9 (A–E) and how each is written for the tools.

Every tool reads the same ``requirements.in``, so the comparison is about solving, not
about argument parsing.  E is ftlock's ``--gpu/--model`` stack: it only exists once ftlock
grows those options, which :func:`ftlock_has_option` checks from ``ftlock solve --help``.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BenchInput:
    key: str
    title: str
    requirements: tuple[str, ...]
    # Extra ftlock arguments (E: the stack options); when set, uv gets the top-level
    # requirements ftlock's lock names (see run.py), pip-compile is not run.
    ftlock_args: tuple[str, ...] = ()
    needs_option: str | None = None  # ftlock option that must exist, else 'skipped'
    notes: tuple[str, ...] = field(default=())

    def write_in(self, path: Path) -> Path:
        """Write ``requirements.in`` (one requirement per line) and return its path."""
        path.write_text("".join(f"{r}\n" for r in self.requirements), encoding="utf-8")
        return path


INPUTS: dict[str, BenchInput] = {
    "A": BenchInput(
        "A",
        "fine-tuning core",
        ("transformers", "peft", "trl", "accelerate", "bitsandbytes", "datasets"),
    ),
    "B": BenchInput("B", "unsloth", ("unsloth",)),
    "C": BenchInput("C", "torch trio", ("torch", "torchvision", "torchaudio")),
    "D": BenchInput(
        "D",
        "full workstation",
        (
            "transformers[torch]",
            "datasets",
            "evaluate",
            "accelerate",
            "peft",
            "trl",
            "bitsandbytes",
            "gradio",
            "jupyterlab",
            "wandb",
        ),
    ),
    "E": BenchInput(
        "E",
        "--gpu a100 --model gemma3 stack",
        (),
        ftlock_args=("--gpu", "a100", "--model", "gemma3"),
        needs_option="--gpu",
    ),
}


def parse_keys(text: str) -> list[str]:
    """``"A,c, D"`` → ``["A", "C", "D"]``; unknown keys are an error, not a silent skip."""
    keys = [k.strip().upper() for k in text.split(",") if k.strip()]
    unknown = [k for k in keys if k not in INPUTS]
    if unknown:
        raise SystemExit(f"unknown input(s): {', '.join(unknown)} (known: {', '.join(INPUTS)})")
    return keys


def ftlock_has_option(ftlock: list[str], option: str) -> bool:
    """Whether ``ftlock solve --help`` lists ``option`` (feature detection, not versions)."""
    try:
        shown = subprocess.run(
            [*ftlock, "solve", "--help"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option in shown.stdout.split() or f"{option} " in shown.stdout
