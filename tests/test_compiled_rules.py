"""The built-in rules a solve rebuilds from ``knowledge/data/compiled.json``
(ftlock.knowledge.compiled) are the rules validation produces, and a rule file edited since
the JSON was made is validated instead.

The rules a solve uses are plain values (ftlock.knowledge.rules), not the pydantic schema's
models (ftlock.knowledge.models): their JSON form, and so the digest a team lock records of
each rule, must be exactly the schema model's."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

from pydantic import TypeAdapter

from ftlock._toml import tomllib
from ftlock.knowledge import compiled, loader, models
from ftlock.knowledge.rules import from_json, to_json
from ftlock.project.fingerprint import rule_digest


def _validated() -> list:
    return [(item.rule, item.file) for item in loader.load_dir()]


def _schema_models() -> list:
    """Every built-in rule validated by the pydantic schema directly, in load order."""
    adapter: TypeAdapter[models.Rule] = TypeAdapter(models.Rule)
    out = []
    for path in sorted(loader.DATA_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for kind in loader.KINDS:
            out += [adapter.validate_python({**entry, "kind": kind}) for entry in data.get(kind, [])]
    return out


def _old_digest(model: models.Rule) -> str:
    """How a team lock's rule digest was computed from the pydantic model."""
    data = json.dumps(model.model_dump(mode="json", by_alias=True, exclude={"verified"}), sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:12]


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
        assert to_json(got) == to_json(want)
        assert rule_digest(got) == rule_digest(want)  # team locks stay fresh


def test_every_builtin_rule_is_its_schema_model_with_the_same_json_and_digest():
    schema = _schema_models()
    rules = [item.rule for item in loader.builtin_rules()]

    assert len(rules) == len(schema)
    for rule, model in zip(rules, schema):
        assert rule.id == model.id
        assert to_json(rule) == model.model_dump(mode="json", by_alias=True), rule.id
        assert rule_digest(rule) == _old_digest(model), rule.id  # digests in team locks
        assert rule.sources == tuple(str(url) for url in model.sources)
        assert from_json(model.model_dump(mode="json", by_alias=True)) == rule


def test_a_solve_with_the_builtin_rules_never_imports_pydantic():
    code = (
        "import sys, ftlock.cli, ftlock.resolve.engine, ftlock.knowledge.engine, ftlock.knowledge.loader as l; "
        "assert l.builtin_rules(); print('pydantic' in sys.modules)"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"


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
    bad_field = good.replace('"symptom":', '"symptoms":', 1)
    bad_type = good.replace('"added": "', '"added": "x', 1)
    for damage in ("", "[]", "{}", good[: len(good) // 2], bad_kind, bad_field, bad_type, "\udcff"):
        (tmp_path / "compiled.json").write_text(damage, errors="surrogateescape")
        assert compiled.load(tmp_path / "compiled.json", files) is None
