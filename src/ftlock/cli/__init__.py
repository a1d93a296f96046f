"""Command-line interface: click commands only — option parsing, output and exit codes.

Everything a library user would also need lives in :mod:`ftlock.resolve` and
:mod:`ftlock.lock`.
"""

from __future__ import annotations

import sys

import click

# Each command module registers its commands on ``main`` when imported.
from ftlock.cli import check, hardware, kb, lock, solve, verify  # noqa: F401
from ftlock.cli.app import main

__all__ = ["main", "run"]


def run() -> None:
    """Console-script entry point: ``main`` then an immediate exit.

    Once the lock is written, speculative prefetches still in flight (a page the solver
    never needed, a request waiting out its timeout) must not hold the process open: the
    thread pool would otherwise be joined at interpreter exit.  Output is flushed and the
    lock was written atomically, so nothing is lost.  Tests call ``main`` in-process.
    """
    import gc
    import os

    # A solve allocates millions of short-lived objects that are freed by reference
    # counting; at the default threshold (700) the cyclic collector ran thousands of times
    # per cold solve, 7-8% of its CPU (perf), finding next to nothing.  The command is one
    # short process: collect rarely.  (Library callers keep their own settings.)
    gc.freeze()  # what is imported so far lives as long as the process
    gc.set_threshold(50_000, 20, 100)
    code = 0
    try:
        main()
    except SystemExit as exc:
        if isinstance(exc.code, int):
            code = exc.code
        elif exc.code is not None:
            click.echo(str(exc.code), err=True)
            code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
