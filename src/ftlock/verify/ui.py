"""What a person sees while ``verify`` and ``kb prove`` run: a progress bar over the lock's
packages while installing and a spinner per check on a terminal; one line per finished
check in a log (CI), where a bar would only add noise."""

from __future__ import annotations

import re
from typing import Any

from packaging.utils import canonicalize_name

from ftlock.verify.report import FAIL, PASS, SKIP, Row

# installer lines that mean "this package is being fetched or installed"
_PACKAGE_LINE = re.compile(
    r"^\s*(?:Downloaded|Downloading|Collecting|\+|Installing|Using cached)\s+([A-Za-z0-9][A-Za-z0-9._-]*)"
)


class ConsoleUi:
    def __init__(self, console: Any, packages: tuple[str, ...] = ()) -> None:
        self.console = console
        self.live = bool(console.is_terminal)
        self.packages = {canonicalize_name(p) for p in packages}
        self._progress: Any = None
        self._task: Any = None
        self._seen: set[str] = set()
        self._status: Any = None

    def note(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def install_started(self, packages: int) -> None:
        if not self.live:
            self.console.print(f"installing {packages} packages …", markup=False)
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(), TextColumn("installing"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("{task.fields[line]}"), console=self.console, transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("install", total=packages or None, line="")

    def install_line(self, line: str) -> None:
        if self._progress is None:
            return
        match = _PACKAGE_LINE.match(line)
        if match:
            name = canonicalize_name(match.group(1))
            if name in self.packages or not self.packages:
                self._seen.add(name)
        self._progress.update(self._task, completed=len(self._seen), line=line.strip()[:60])

    def install_done(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def check_started(self, name: str) -> None:
        if self.live and self._progress is None:
            self._stop_status()
            self._status = self.console.status(f"{name} …")
            self._status.start()

    def check_done(self, row: Row) -> None:
        self._stop_status()
        if not self.live:
            mark = {PASS: "pass", FAIL: "FAIL", SKIP: "skip"}.get(row.status, row.status)
            detail = f": {row.detail}" if row.detail and row.status != PASS else ""
            self.console.print(f"  {mark:<7} {row.check} ({row.seconds:.1f}s){detail}", markup=False, highlight=False)

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
