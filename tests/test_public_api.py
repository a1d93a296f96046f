"""``import ftlock`` is the library API: a solve is one call, and importing it stays cheap
because every CLI start pays for it (the benchmarks measure it)."""

from __future__ import annotations

import subprocess
import sys

import ftlock


def test_a_solve_is_one_library_call(app_index, tmp_path):
    request = ftlock.SolveRequest(
        requirements=("app",), index_url=app_index.url, python="3.11",
        platform="linux_x86_64", cache_dir=tmp_path / "cache",
    )

    resolution = ftlock.solve(request)
    text = ftlock.render(resolution)
    (tmp_path / "lock.txt").write_text(text)

    assert [(p.name, p.version) for p in resolution.packages] == [("app", "1.0"), ("lib", "1.1")]
    assert "app==1.0 \\" in text and "--hash=sha256:" in text
    assert ftlock.read_lock(tmp_path / "lock.txt").pins() == {"app": "1.0", "lib": "1.1"}
    assert 'name = "app"' in ftlock.render(resolution, format="pylock")


def test_every_public_name_resolves():
    assert "solve" in ftlock.__all__ and "SolveRequest" in ftlock.__all__
    for name in ftlock.__all__:
        assert getattr(ftlock, name) is not None
    assert set(ftlock.__all__) <= set(dir(ftlock))


def test_import_ftlock_loads_no_resolver():
    code = "import sys, ftlock; print(sorted(m for m in sys.modules if m.startswith('ftlock')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert out.strip() == "['ftlock', 'ftlock._version']"
