"""The version, in a module of its own so that every layer can name it without importing
the public API in :mod:`ftlock` (which sits above all of them)."""

__version__ = "0.1.0"
