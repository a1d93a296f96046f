"""The project workflow: ``[tool.ftlock]`` in pyproject.toml, the input fingerprint that makes
``ftlock lock --check`` work offline, and ``ftlock lock`` itself.
"""
