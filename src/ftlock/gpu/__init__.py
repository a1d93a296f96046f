"""GPU and CUDA facts: the GPU catalog, CUDA driver support, torch build choice, model presets
and the local probe.

These are facts about hardware and vendor builds, not about packages' metadata, so they sit
below the resolver and depend on nothing above :mod:`ftlock.errors`; the data lives in
``catalog/`` beside the code that reads it.
"""

from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
