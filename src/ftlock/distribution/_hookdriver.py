"""Both PEP 517 metadata hooks of one build, from one interpreter start (POSIX only).

Run by a build environment's interpreter as a script, never imported by ftlock (it
imports nothing from it): ``python _hookdriver.py IN_PROCESS HOOK1_DIR CONTROL_DIR``.

Each hook normally gets a fresh interpreter (``pyproject_hooks``' ``_in_process.py``),
which starts Python and imports the backend again: setuptools alone is 0.1 s of CPU, as
much as a small ``setup.py`` takes to run.  This script imports the backend once, then
forks one child per hook, so that each hook still runs in a process of its own, in the
state a fresh ``_in_process.py`` would be in once it has imported the backend (nothing one
hook does can leak into the other), and each child runs ``_in_process.py``'s own ``main``:
same inputs, same ``output.json``, same exit status, same output on the shared pipe.

* The first child runs ``get_requires_for_build_wheel`` in ``HOOK1_DIR`` (the directory
  ``pyproject_hooks`` prepared); this script exits with that child's status.
* The second child runs ``prepare_metadata_for_build_wheel`` in ``CONTROL_DIR/prepare``
  (input written by ftlock) only when the first hook's answer fits ``CONTROL_DIR/expect.json``
  (all of ``require``, nothing outside ``allow``), which ftlock words so that it holds
  exactly when ftlock would run the second hook in this very environment; its exit status
  goes to ``CONTROL_DIR/prepare/status``.  ftlock
  replays that output when it asks for the hook, or runs the hook afresh (see
  :mod:`ftlock.distribution.pep517`).
* When the backend cannot be imported here, or importing it started threads (a fork
  would not be safe), it writes ``CONTROL_DIR/fallback`` and runs nothing: ftlock then
  runs the hooks the ordinary way, so that the error comes from a process of their own.
"""

import importlib.util
import json
import os
import sys
import threading
import warnings


def _load(path):
    spec = importlib.util.spec_from_file_location("_in_process", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _write(path, text):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _imported(hooks):
    """Import the backend, as the hooks would; False when that fails (or starts threads)."""
    try:
        with warnings.catch_warnings(record=True):  # a hook records them; ftlock drops them
            hooks._build_backend()
    except Exception:  # noqa: BLE001 - reported by the hook run the ordinary way
        return False
    return threading.active_count() == 1


def _fork(hooks, name, control_dir):
    """Run one hook in a child, exactly as ``_in_process.py NAME CONTROL_DIR`` would after
    importing the backend; its exit status.  No try/finally around the child's part: an
    exception or ``SystemExit`` there ends the child the way it would end that script."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        sys.argv = [hooks.__file__, name, control_dir]
        hooks.main()
        sys.exit(0)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _wanted(hook1_dir, expect):
    """Whether the first hook succeeded and asked for all of ``expect["require"]`` and
    nothing outside ``expect["allow"]``."""
    output = _read(os.path.join(hook1_dir, "output.json"))
    found = output.get("return_val")
    if any(output.get(key) for key in ("unsupported", "no_backend", "hook_missing")):
        return False
    if not isinstance(found, list) or not all(isinstance(r, str) for r in found):
        return False
    return set(expect["require"]) <= set(found) <= set(expect["allow"])


def main():
    in_process, hook1_dir, control = sys.argv[1:4]
    # as _in_process.py does for its own folder: neither folder may shadow the backend's imports
    here = {os.path.normcase(os.path.realpath(os.path.dirname(p))) for p in (__file__, in_process)}
    sys.path[:] = [p for p in sys.path if os.path.normcase(os.path.realpath(p)) not in here]
    hooks = _load(in_process)
    if not _imported(hooks):
        _write(os.path.join(control, "fallback"), "")
        return 0
    status = _fork(hooks, "get_requires_for_build_wheel", hook1_dir)
    if status == 0 and _wanted(hook1_dir, _read(os.path.join(control, "expect.json"))):
        prepare = os.path.join(control, "prepare")
        done = _fork(hooks, "prepare_metadata_for_build_wheel", prepare)
        _write(os.path.join(prepare, "status"), str(done))
    return status


if __name__ == "__main__":
    sys.exit(main())
