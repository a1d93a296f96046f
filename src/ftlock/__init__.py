"""ftlock: one atomic, hash-pinned install set for fine-tuning stacks."""

__version__ = "0.1.0"
