"""The knowledge overlay: sourced rules about combinations that install but break.

Rules are data (TOML files in ``data/``, one per topic) validated by pydantic models in
:mod:`ftlock.knowledge.models`; :mod:`ftlock.knowledge.engine` turns them into solver
requirements.  No package name appears in code.
"""
