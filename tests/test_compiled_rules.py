"""The built-in rules a solve rebuilds from ``knowledge/data/compiled.json``
(ftlock.knowledge.compiled) are the rules validation produces, and a rule file edited since
the JSON was made is validated instead."""

from __future__ import annotations

import shutil

from ftlock.knowledge import compiled, loader
from ftlock.project.fingerprint import rule_digest


def _validated() -> list:
    return [(item.rule, item.file) for item in loader.load_dir()]


def test_the_shipped_compiled_rules_are_made_from_the_shipped_rule_files():
    files = sorted(loader.DATA_DIR.glob("*.toml"))

    assert compiled.load(loader.COMPILED, files) is not None, (
        "knowledge/data/compiled.json is stale: run `python -m ftlock.knowledge.regenerate`"
    )


def test_rebuilt_rules_equal_the_validated_ones_field_for_field():
    files = sorted(loader.DATA_DIR.glob("*.toml"))
    validated = _validated()

    rebuilt = compiled.load(loader.COMPILED, files)

    assert rebuilt is not None and len(rebuilt) == len(validated)
    for (want, want_file), (got, got_file) in zip(validated, rebuilt):
        assert type(got) is type(want) and got_file == want_file
        assert got == want, want.id
        assert got.model_dump(mode="json") == want.model_dump(mode="json")
        assert rule_digest(got) == rule_digest(want)  # team locks stay fresh


def test_an_edited_rule_file_is_validated_instead(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(loader.DATA_DIR, data)
    files = sorted(data.glob("*.toml"))
    (tmp_path / "compiled.json").write_text(compiled.dump(files, _validated()))
    assert compiled.load(tmp_path / "compiled.json", files) is not None

    files[0].write_text(files[0].read_text() + "\n# edited\n")

    assert compiled.load(tmp_path / "compiled.json", files) is None


def test_a_damaged_compiled_file_is_ignored(tmp_path):
    files = sorted(loader.DATA_DIR.glob("*.toml"))
    good = compiled.dump(files, _validated())
    bad_kind = good.replace('"kind": "conflict"', '"kind": "nope"', 1)
    for damage in ("", "[]", "{}", good[: len(good) // 2], bad_kind, "\udcff"):
        (tmp_path / "compiled.json").write_text(damage, errors="surrogateescape")
        assert compiled.load(tmp_path / "compiled.json", files) is None
