"""Numbers in the sentences recogenre prints: "1 track", "2 tracks", "29 KB".

One place for these so that every message counts and sizes the same way.
"""

from __future__ import annotations


def count(n: int | float, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one: ``count(1, "track")`` is ``"1 track"``."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def size(n_bytes: int | float) -> str:
    """A byte count in the largest decimal unit that keeps it at least 1: ``29 KB``, ``2.0 MB``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n_bytes >= scale:
            value = n_bytes / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return count(int(n_bytes), "byte")
