"""Run one tool invocation and measure it: wall time, CPU time, peak RSS, exit status, output.

Peak RSS and CPU time come from ``os.wait4`` on the child: the kernel reports the largest
resident set of the child *or any descendant it waited for* (uv's interpreter probes, pip's
build subprocesses), and the user + system CPU seconds of the child plus those descendants,
exactly and without polling.  ``getrusage(RUSAGE_CHILDREN)`` would only give
the maximum over every child this harness ever ran, which is useless after the first run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    cpu_s: float  # user + system, the child and the descendants it waited for
    peak_rss_mb: float
    returncode: int
    timed_out: bool
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def run_measured(
    cmd: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float | None = None,
) -> Measurement:
    """Run ``cmd`` to completion (or ``timeout``), measuring wall time, CPU time and peak RSS.

    Output goes to temporary files rather than pipes: a tool printing megabytes (uv's
    ``-v``) must not block on a full pipe while we sit in ``wait4``.  On timeout the whole
    process group is killed, so no download keeps running behind the next measurement.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer is not None:
                timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if killed.is_set():  # reap what the kill left behind in the group
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        out.seek(0)
        err.seek(0)
        return Measurement(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            peak_rss_mb=usage.ru_maxrss / 1024.0,  # Linux reports KiB
            returncode=proc.returncode,
            timed_out=killed.is_set(),
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )
