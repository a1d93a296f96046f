"""Lockfile writers: hash-pinned requirements.txt (PEP 751 pylock.toml and diffs follow)."""
