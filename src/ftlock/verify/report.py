"""The verify report: one row per check (check, result, seconds), the machine it ran on,
as a table for people, JSON for machines, and ``LOCK.verified.json`` for the record."""

from __future__ import annotations

import json
import platform as _platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ftlock._version import __version__

PASS, FAIL, SKIP, NOT_RUN = "pass", "fail", "skip", "not run"


@dataclass
class Row:
    check: str
    status: str  # pass | fail | skip | not run
    seconds: float = 0.0
    detail: str = ""
    label: str = ""  # the result's word instead of pass/FAIL/skipped (kb prove: "proven")

    @property
    def result(self) -> str:
        shown = self.label or {PASS: "pass", FAIL: "FAIL", SKIP: "skipped", NOT_RUN: "not run"}[self.status]
        return f"{shown}: {self.detail}" if self.detail else shown


@dataclass
class Gpu:
    name: str
    driver: str
    compute_capability: str | None = None


@dataclass
class Machine:
    python: str  # the interpreter the environment was made from
    platform: str  # e.g. Linux-6.1-x86_64-with-glibc2.36
    gpus: list[Gpu] = field(default_factory=list)

    @classmethod
    def here(cls, python: str, gpus: list[Gpu]) -> Machine:
        return cls(python, _platform.platform(), gpus)

    def describe(self) -> str:
        gpu = ", ".join(f"{g.name} (driver {g.driver})" for g in self.gpus) or "no GPU"
        return f"CPython {self.python} on {self.platform}, {gpu}"


@dataclass
class Report:
    lock: str
    sha256: str
    target: str
    installer: str
    machine: Machine
    download: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    modules: list[dict[str, Any]] = field(default_factory=list)  # every import, for --json
    started: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    seconds: float = 0.0
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.status in (PASS, SKIP) for r in self.rows)

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r.status == FAIL]

    def to_json(self) -> dict[str, Any]:
        return {
            "ftlock": __version__,
            "lock": self.lock,
            "sha256": self.sha256,
            "target": self.target,
            "result": "dry run" if self.dry_run else "pass" if self.passed else "fail",
            "started": self.started,
            "seconds": round(self.seconds, 1),
            "installer": self.installer,
            "machine": asdict(self.machine),
            "download": self.download,
            "checks": [
                {"check": r.check, "result": r.status, "seconds": round(r.seconds, 2), "detail": r.detail}
                for r in self.rows
            ],
            "imports": self.modules,
            "notes": self.notes,
        }

    def record(self, lock_path: Path) -> Path:
        """Write ``LOCK.verified.json`` beside the lock (atomically); its path."""
        from ftlock.lock.atomic import write_atomic

        path = lock_path.with_name(lock_path.name + ".verified.json")
        write_atomic(path, json.dumps(self.to_json(), indent=2) + "\n")
        return path


def render(rows: list[Row], console: Any, title: str | None = None) -> None:
    """The table, with rich: check, result, seconds."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", show_edge=False)
    table.add_column("check", overflow="fold")
    table.add_column("result", overflow="fold")
    table.add_column("seconds", justify="right")
    styles = {PASS: "green", FAIL: "bold red", SKIP: "yellow", NOT_RUN: "dim"}
    for row in rows:
        table.add_row(row.check, f"[{styles[row.status]}]{_escape(row.result)}[/]", f"{row.seconds:.1f}")
    console.print(table)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def console(stderr: bool = False) -> Any:
    """A rich console that does not wrap rows into unreadable columns when the output is a
    file or a CI log."""
    from rich.console import Console

    stream_tty = (sys.stderr if stderr else sys.stdout).isatty()
    return Console(stderr=stderr, width=None if stream_tty else 200, highlight=False, soft_wrap=False)
