"""The knowledge overlay: sourced rules about combinations that install but break.

Rules are data (TOML files in ``data/``, one per topic) validated by pydantic models in
:mod:`ftlock.knowledge.models` (the schema) and used as the plain frozen values of
:mod:`ftlock.knowledge.rules` (the built-in ones read from ``data/compiled.json`` without
pydantic); :mod:`ftlock.knowledge.engine` turns them into solver requirements.  No package
name appears in code.
"""
