"""A bounded memo: the one way revspine remembers derived values (a parsed date, a unit
conversion, what a code means) in a plain dict that is emptied when it is full."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["remember"]

K = TypeVar("K")
V = TypeVar("V")


def remember(cache: dict[K, V], key: K, value: V, size: int = 4096) -> V:
    """Store ``value`` under ``key`` in ``cache`` (emptied first when it holds ``size`` items)
    and return it. Callers look the key up first and only remember what they worked out."""
    if len(cache) >= size:
        cache.clear()
    cache[key] = value
    return value
