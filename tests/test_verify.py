"""`ftlock verify` and `ftlock kb prove` on tiny wheels built here, served by the local index.

Nothing is downloaded: the environments are made with uv (installed by the test extras)
from this interpreter, and every file comes from the local index.  A fake package whose
import fails next to one version of another fake package stands in for the real breakages
(trl 0.7 with transformers 4.39).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.support.dists import build_wheel, sha256_file

from ftlock.resolve.target import PlatformTarget
from ftlock.verify.env import uv_path

pytestmark = pytest.mark.skipif(
    uv_path() is None or sys.platform != "linux", reason="needs uv (the test extras install it) on Linux"
)

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
PLATFORM = PlatformTarget.running().name

# goodlib 1.0 has helper(); 2.0 removed it.  plugin 1.0 imports it (and declares no bound,
# like trl 0.7.11 with transformers); plugin 2.0 does not need it.
GOODLIB_1 = "def helper():\n    return 1\n"
GOODLIB_2 = "def other():\n    return 2\n"
PLUGIN_1 = "from goodlib import helper\n"
PLUGIN_2 = "import goodlib\n"


@pytest.fixture
def index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    idx = local_index()
    idx.add(build_wheel(dists_dir, "goodlib", "1.0", module_source=GOODLIB_1))
    idx.add(build_wheel(dists_dir, "goodlib", "2.0", module_source=GOODLIB_2))
    idx.add(build_wheel(dists_dir, "plugin", "1.0", requires_dist=["goodlib"], module_source=PLUGIN_1))
    idx.add(build_wheel(dists_dir, "plugin", "2.0", requires_dist=["goodlib"], module_source=PLUGIN_2))
    idx.add(build_wheel(dists_dir, "needy", "1.0", requires_dist=["goodlib<2"]))
    return idx


@pytest.fixture(autouse=True)
def isolated_uv(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """uv sees no user or system configuration and never fetches a Python."""
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    for var in ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_FIND_LINKS", "UV_CACHE_DIR"):
        monkeypatch.delenv(var, raising=False)


def _solve(ftlock, index, tmp_path: Path, *reqs: str, name: str = "lock.txt") -> Path:  # type: ignore[no-untyped-def]
    lock = tmp_path / name
    result = ftlock("solve", *reqs, "--python", PYTHON, "--platform", PLATFORM, index=index, output=lock)
    assert result.exit_code == 0, result.stderr
    return lock


def _verify(ftlock, tmp_path: Path, lock: Path, *extra: str):  # type: ignore[no-untyped-def]
    return ftlock("verify", str(lock), "--cache-dir", str(tmp_path / "cache"), *extra)


def _rows(stdout: str) -> dict[str, str]:
    """check -> result, from the rendered table."""
    rows: dict[str, str] = {}
    for line in stdout.splitlines():
        parts = re.split(r"\s{2,}", line.strip())
        if len(parts) >= 3 and re.fullmatch(r"\d+\.\d", parts[-1]):
            rows[parts[0]] = parts[1]
    return rows


def test_a_working_lock_passes_every_check(ftlock, index, tmp_path):
    lock = _solve(ftlock, index, tmp_path, "plugin==2.0", "goodlib==2.0")

    result = _verify(ftlock, tmp_path, lock, "--record")

    assert result.exit_code == 0, result.stdout + result.stderr
    rows = _rows(result.stdout)
    assert rows[f"environment: CPython {PYTHON}.{sys.version_info.micro} venv"] == "pass"
    assert rows["install (uv)"] == "pass: 2 packages as locked"
    assert rows["pip check (uv)"] == "pass"
    assert rows["import 2 of 2 modules"] == "pass"
    assert "uv pip install --require-hashes --no-deps -r lock.txt" in result.stderr
    assert "lock.txt: verified:" in result.stderr
    record = json.loads((tmp_path / "lock.txt.verified.json").read_text())
    assert record["result"] == "pass"
    assert record["sha256"] == sha256_file(lock)
    assert record["target"] == f"CPython {PYTHON}, {PLATFORM}"
    assert record["machine"]["python"].startswith(PYTHON)
    assert record["machine"]["gpus"] == [] or record["machine"]["gpus"][0]["driver"]
    assert {m["module"]: m["result"] for m in record["imports"]} == {"goodlib": "pass", "plugin": "pass"}
    assert [c["check"] for c in record["checks"]][:3] == [
        f"environment: CPython {PYTHON}.{sys.version_info.micro} venv", "install (uv)", "pip check (uv)",
    ]


def test_a_failing_import_names_the_module_and_the_error_line(ftlock, index, tmp_path):
    # resolves and installs cleanly (plugin declares no bound on goodlib), breaks on import
    lock = _solve(ftlock, index, tmp_path, "plugin==1.0", "goodlib==2.0")

    result = _verify(ftlock, tmp_path, lock, "--json")

    assert result.exit_code == 1, result.stdout + result.stderr
    rows = _rows(result.stderr)  # with --json the table goes to stderr
    assert rows["pip check (uv)"] == "pass"
    assert rows["import plugin"].startswith("FAIL: ImportError: cannot import name 'helper' from 'goodlib'")
    report = json.loads(result.stdout)
    assert report["result"] == "fail"
    failed = [c for c in report["checks"] if c["result"] == "fail"]
    assert [c["check"] for c in failed] == ["import 1 of 2 modules", "import plugin"]
    assert failed[0]["detail"] == "1 failed (plugin)"
    assert failed[1]["detail"].startswith("ImportError: cannot import name 'helper' from 'goodlib'")
    assert {m["module"]: m["result"] for m in report["imports"]} == {"goodlib": "pass", "plugin": "fail"}
    assert "FAILED: 2 of" in result.stderr


def _hand_written_lock(path: Path, index, wheels: dict[str, Path]) -> Path:  # type: ignore[no-untyped-def]
    lines = [
        "#",
        f"# This file was generated by ftlock 0.1.0 for CPython {PYTHON}, {PLATFORM}.",
        "#",
        f"--index-url {index.url}",
    ]
    for pin, wheel in wheels.items():
        lines += [f"{pin} \\", f"    --hash=sha256:{sha256_file(wheel)}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_pip_check_conflict_fails_the_lock(ftlock, index, tmp_path, dists_dir):
    # needy requires goodlib<2; a lock edited by hand pins goodlib 2.0 beside it
    wheels = {
        "needy==1.0": dists_dir / "needy-1.0-py3-none-any.whl",
        "goodlib==2.0": dists_dir / "goodlib-2.0-py3-none-any.whl",
    }
    lock = _hand_written_lock(tmp_path / "edited.txt", index, wheels)

    result = _verify(ftlock, tmp_path, lock)

    assert result.exit_code == 1, result.stdout + result.stderr
    rows = _rows(result.stdout)
    assert rows["install (uv)"] == "pass: 2 packages as locked"
    assert rows["pip check (uv)"].startswith("FAIL:")
    assert "needy" in rows["pip check (uv)"] and "goodlib" in rows["pip check (uv)"]
    assert rows["import 2 of 2 modules"] == "pass"


def test_a_hash_mismatch_fails_the_install_and_nothing_after_it_runs(ftlock, index, tmp_path):
    lock = _solve(ftlock, index, tmp_path, "plugin==2.0", "goodlib==2.0")
    text = lock.read_text()
    real = re.search(r"goodlib==2.0 \\\n    --hash=sha256:([0-9a-f]{64})", text).group(1)
    lock.write_text(text.replace(real, "0" * 64))

    result = _verify(ftlock, tmp_path, lock)

    assert result.exit_code == 1, result.stdout + result.stderr
    rows = _rows(result.stdout)
    assert rows["install (uv)"].startswith("FAIL:")
    assert "hash" in rows["install (uv)"].lower() and "goodlib" in rows["install (uv)"]
    assert rows["pip check"] == "not run"
    assert rows["imports"] == "not run"


def test_pip_installs_when_asked_and_says_so(ftlock, index, tmp_path):
    lock = _solve(ftlock, index, tmp_path, "plugin==2.0", "goodlib==2.0")

    result = _verify(ftlock, tmp_path, lock, "--installer", "pip")

    assert result.exit_code == 0, result.stdout + result.stderr
    rows = _rows(result.stdout)
    assert rows["install (pip)"] == "pass: 2 packages as locked"
    assert rows["pip check"] == "pass"
    assert "pip install --require-hashes --no-deps -r lock.txt" in result.stderr


def test_dry_run_says_what_it_would_download_and_installs_nothing(ftlock, index, tmp_path):
    lock = _solve(ftlock, index, tmp_path, "plugin==2.0", "goodlib==2.0")
    sizes = sum((tmp_path / "dists" / f).stat().st_size for f in ("plugin-2.0-py3-none-any.whl", "goodlib-2.0-py3-none-any.whl"))
    index.clear_log()

    result = _verify(ftlock, tmp_path, lock, "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert 1000 < sizes < 10_000
    assert f"download: {sizes / 1e3:.1f} kB in 2 files (sizes from the index)" in result.stderr
    assert "dry run: nothing installed" in result.stderr
    assert index.count(prefix="/files/") == 0
    assert not (tmp_path / "cache" / "verify" / "uv").exists()


def test_a_lock_for_another_platform_is_one_clear_error(ftlock, index, tmp_path):
    lock = tmp_path / "mac.txt"
    result = ftlock("solve", "goodlib==2.0", "--python", PYTHON, "--platform", "macosx_14_0_arm64", index=index, output=lock)
    assert result.exit_code == 0, result.stderr

    result = _verify(ftlock, tmp_path, lock)

    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: the lock targets macosx_14_0_arm64")


def test_a_lock_for_a_python_not_here_names_it(ftlock, index, tmp_path):
    other = "3.8" if sys.version_info[:2] != (3, 8) else "3.9"
    lock = tmp_path / "old.txt"
    result = ftlock("solve", "goodlib==2.0", "--python", other, "--platform", PLATFORM, index=index, output=lock)
    assert result.exit_code == 0, result.stderr

    result = _verify(ftlock, tmp_path, lock, "--python", sys.executable)

    assert result.exit_code == 2
    assert f"the lock targets CPython {other}" in result.stderr


RULES = """
[[conflict]]
id = "plugin-1-goodlib-2-helper"
summary = "plugin 1.x imports helper, which goodlib 2.0 removed"
symptom = "ImportError: cannot import name 'helper' from 'goodlib' (on `import plugin`)"
fix = "Upgrade plugin to 2.0, or keep goodlib below 2"
sources = ["https://example.org/plugin/issues/1"]
added = 2026-12-01
a = { name = "plugin", versions = "<2.0" }
b = { name = "goodlib", versions = ">=2.0" }
example = { bad = ["plugin==1.0", "goodlib==2.0"], good = ["plugin==1.0", "goodlib==1.0"] }
probe = "import plugin"
"""


def _prove(ftlock, index, tmp_path: Path, rules: str, *extra: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "team-rules.toml"
    path.write_text(rules)
    return ftlock(
        "kb", "prove", "plugin-1-goodlib-2-helper", "--rules", str(path), "--index-url", index.url,
        "--cache-dir", str(tmp_path / "cache"), *extra,
    )


def test_kb_prove_proves_a_rule_whose_probe_fails_on_bad_and_passes_on_good(ftlock, index, tmp_path):
    result = _prove(ftlock, index, tmp_path, RULES, "--json")

    assert result.exit_code == 0, result.stdout + result.stderr
    rows = _rows(result.stderr)
    assert rows["plugin-1-goodlib-2-helper"].startswith("proven: bad: ImportError: cannot import name 'helper'")
    [proof] = json.loads(result.stdout)
    assert proof["result"] == "proven"
    assert proof["bad"]["probe"] == "fail" and proof["good"]["probe"] == "pass"
    assert sorted(proof["bad"]["locked"]) == ["goodlib==2.0", "plugin==1.0"]
    assert sorted(proof["good"]["locked"]) == ["goodlib==1.0", "plugin==1.0"]


def test_kb_prove_with_a_probe_that_passes_everywhere_is_not_reproduced(ftlock, index, tmp_path):
    result = _prove(ftlock, index, tmp_path, RULES.replace('probe = "import plugin"', 'probe = "import goodlib"'))

    assert result.exit_code == 1, result.stdout + result.stderr
    assert _rows(result.stdout)["plugin-1-goodlib-2-helper"] == "not reproduced: the bad example passes the probe"


def test_kb_prove_a_failure_that_is_not_the_symptom_is_not_reproduced(ftlock, index, tmp_path):
    rules = RULES.replace('probe = "import plugin"', 'probe = "import plugin\\nraise SystemExit(3)"')
    rules = rules.replace('symptom = "ImportError', 'symptom = "KeyError')

    result = _prove(ftlock, index, tmp_path, rules)

    assert result.exit_code == 1
    assert _rows(result.stdout)["plugin-1-goodlib-2-helper"].startswith(
        "not reproduced: the bad example fails, but not with the rule's symptom: ImportError"
    )


def test_kb_lint_checks_the_probe_is_python(ftlock, tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(RULES.replace('probe = "import plugin"', 'probe = "import plugin("'))

    result = ftlock("kb", "lint", str(path))

    assert result.exit_code == 2
    assert "probe is not valid Python" in result.stderr and "plugin-1-goodlib-2-helper" in result.stderr


def test_a_gpu_rule_needs_a_gpu_on_a_machine_without_one(ftlock, index, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-nvidia-smi"))  # no nvidia-smi: no GPU
    rules = RULES.replace('added = 2026-12-01', 'added = 2026-12-01\nwhen = { compute_capability = ">=8.0" }')
    rules = rules.replace('good = ["plugin==1.0", "goodlib==1.0"] }', 'good = ["plugin==1.0", "goodlib==1.0"], gpu = "a100" }')

    result = _prove(ftlock, index, tmp_path, rules)

    assert result.exit_code == 0, result.stdout + result.stderr
    assert _rows(result.stdout)["plugin-1-goodlib-2-helper"].startswith("needs GPU")
    assert index.count(prefix="/files/") == 0


def test_a_pylock_is_installed_by_uv_and_its_sizes_come_from_the_lock(ftlock, index, tmp_path):
    lock = tmp_path / "pylock.toml"
    result = ftlock("solve", "plugin==2.0", "goodlib==2.0", "--format", "pylock", "--python", PYTHON,
                    "--platform", PLATFORM, index=index, output=lock)
    assert result.exit_code == 0, result.stderr
    sizes = sum((tmp_path / "dists" / f).stat().st_size for f in ("plugin-2.0-py3-none-any.whl", "goodlib-2.0-py3-none-any.whl"))

    result = _verify(ftlock, tmp_path, lock)

    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"download: {sizes / 1e3:.1f} kB in 2 files (sizes from the lock)" in result.stderr
    assert "uv pip install -r pylock.toml" in result.stderr
    rows = _rows(result.stdout)
    assert rows["install (uv)"] == "pass: 2 packages as locked"
    assert rows["import 2 of 2 modules"] == "pass"
    assert ftlock("verify", str(lock), "--installer", "pip", "--dry-run").exit_code == 2


def test_every_smoke_check_is_valid_python_for_every_model_preset():
    from ftlock.gpu.models_catalog import catalog
    from ftlock.verify import smoke

    presets = [m.name for m in catalog().model]
    assert set(presets) <= set(smoke.MODEL_TYPES), "a --model preset without a tiny config"
    for preset in [None, *presets]:
        model_type, _ = smoke.model_type_for(preset)
        for check in smoke.checks(model_type):
            compile(check.code, check.name, "exec")
    names = [c.name for c in smoke.applicable(smoke.checks("llama"), {"torch", "transformers", "peft", "accelerate"})]
    assert "peft: LoRA adapter forward+backward" in names and "transformers: one Trainer step" in names
    assert not any(n.startswith(("trl", "datasets", "flash-attn")) for n in names)


def test_modules_come_from_the_record_and_namespace_packages_go_one_level_down(tmp_path):
    from ftlock.verify.imports import modules_of

    info = tmp_path / "demo-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(
        "demo/__init__.py,,\nsingle.py,,\nfast.cpython-311-x86_64-linux-gnu.so,,\n"
        "nvidia/cublas/__init__.py,,\nnvidia/cublas/lib/x.so,,\n../../bin/demo,,\n"
        "demo-1.0.dist-info/METADATA,,\n__pycache__/single.cpython-311.pyc,,\ntests/__init__.py,,\n"
    )
    assert modules_of(info) == ["demo", "fast", "nvidia.cublas", "single", "tests"]


def test_the_error_line_is_the_exception_of_the_last_traceback_with_its_continuation():
    from ftlock.verify.env import error_line

    output = (
        "some warning printed first\n"
        "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
        "ModuleNotFoundError: No module named 'rich'\n\n"
        "The above exception was the direct cause of the following exception:\n\n"
        "Traceback (most recent call last):\n  File \"y.py\", line 2, in <module>\n"
        "RuntimeError: Failed to import trl.trainer.sft_trainer because of the following error (look up to see its traceback):\n"
        "No module named 'rich'\n"
    )
    assert error_line(output) == (
        "RuntimeError: Failed to import trl.trainer.sft_trainer because of the following error "
        "(look up to see its traceback): No module named 'rich'"
    )
    assert error_line("no traceback at all\nlast words\n") == "last words"


def test_install_errors_are_one_line_for_uv_and_for_pip():
    from ftlock.verify.install import install_error

    uv = (
        "Resolved 1 package in 3ms\nerror: Failed to download `goodlib==2.0`\n"
        "  cause: Hash mismatch for `goodlib==2.0`\n\n         Expected:\n           sha256:00\n"
    )
    assert install_error(uv) == "Hash mismatch for `goodlib==2.0` (Failed to download `goodlib==2.0`)"
    pip = (
        "Collecting goodlib==2.0 (from -r lock.txt (line 2))\n"
        "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have ...\n"
        "    goodlib==2.0 from http://127.0.0.1/files/goodlib-2.0-py3-none-any.whl (from -r lock.txt (line 2)):\n"
        "        Expected sha256 00\n"
    )
    assert install_error(pip) == "hash mismatch: goodlib==2.0"


def test_keep_leaves_the_environment_and_refuses_a_directory_in_use(ftlock, index, tmp_path):
    lock = _solve(ftlock, index, tmp_path, "plugin==2.0", "goodlib==2.0")
    keep = tmp_path / "env"

    result = _verify(ftlock, tmp_path, lock, "--keep", str(keep))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert (keep / "bin" / "python").exists()
    assert list((keep / "lib").glob("python*/site-packages/plugin/__init__.py"))
    again = _verify(ftlock, tmp_path, lock, "--keep", str(keep))
    assert again.exit_code == 2
    assert "exists and is not empty" in again.stderr
