"""Run what was locked: ``ftlock verify LOCK`` and ``ftlock kb prove``.

A lock that resolves is not yet a lock that works.  This package installs a lock into a
throwaway virtual environment exactly as a user would (:mod:`.install`), then runs
``pip check``, imports every top-level module of every installed distribution
(:mod:`.imports`) and small training smoke checks (:mod:`.smoke`), and reports the result
(:mod:`.report`).  :mod:`.prove` uses the same machinery to demonstrate knowledge rules:
their bad example fails a probe that their good example passes.

Nothing here is imported by ``solve``: the machinery is loaded only by these commands.
"""
