"""Specification: the basic solve against a local index."""

from __future__ import annotations

from tests.support.dists import build_wheel, sha256_file


def test_pins_the_newest_version_and_its_dependency_with_hashes(local_index, dists_dir, ftlock):
    index = local_index()
    index.add(build_wheel(dists_dir, "app", "1.0", requires_dist=["lib>=1"]))
    index.add(build_wheel(dists_dir, "app", "2.0", requires_dist=["lib>=2"]))
    lib1 = index.add(build_wheel(dists_dir, "lib", "1.0"))
    lib2 = build_wheel(dists_dir, "lib", "2.0")
    index.add(lib2)

    result = ftlock("solve", "app", index=index)

    assert result.exit_code == 0, result.stderr
    lines = [l for l in result.lock.splitlines() if not l.startswith("#")]
    assert lines[0] == f"--index-url {index.url}"
    assert lines[1] == "app==2.0 \\"
    assert f"    --hash=sha256:{sha256_file(lib2)}" in lines
    assert "lib==2.0 \\" in lines
    assert "    # via app" in lines
