"""Regenerate ``knowledge/data/compiled.json`` from the rule files (see
:mod:`ftlock.knowledge.compiled`)::

    python -m ftlock.knowledge.regenerate
"""

from __future__ import annotations

from ftlock.knowledge import compiled
from ftlock.knowledge.loader import COMPILED, DATA_DIR, load_dir


def main() -> None:
    files = sorted(DATA_DIR.glob("*.toml"))
    rules = [(item.rule, item.file) for item in load_dir()]
    COMPILED.write_text(compiled.dump(files, rules), encoding="utf-8")
    print(f"{COMPILED}: {len(rules)} rules")


if __name__ == "__main__":
    main()
