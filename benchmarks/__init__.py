"""Benchmark harness for issue 9: ftlock against uv and pip-compile.

Entry points (see ``docs/benchmarks.md``):

* ``python benchmarks/run.py``      — timings, peak RSS, requests, lock agreement, chart;
* ``python benchmarks/mirror.py``   — record / serve a local PEP 691 + PEP 658 mirror;
* ``python benchmarks/profile.py``  — cProfile of one in-process ftlock solve.

The pure parts (lock parsing, ratios, tables) live in :mod:`benchmarks.report` and
:mod:`benchmarks.locks` so they are unit-tested without a network.
"""
